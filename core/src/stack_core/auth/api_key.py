"""``api_key`` auth: static API keys, each with a principal and access attributes, held only hashed.

Keys come from the config (``keys: [{key_hash: "sha256:<hex>", principal, attributes}]``, e.g. from
``stack keys create --no-store``) and, unless ``database: false``, from the stack's SQL database,
where ``stack keys create|list|revoke`` manage them (see ``keystore``). Either lookup is a single
hash-table or primary-key read. A database that cannot be read is a 503, never a pass.
"""

from __future__ import annotations

import hmac
import logging

from sqlalchemy.exc import SQLAlchemyError

from ..errors import ProviderUnavailableError
from ..hookspecs import AuthContext, RequestInfo
from ..resources import User
from .cache import TokenCache
from .common import invalid_token
from .configs import ApiKeyAuthConfig, ApiKeyEntry
from .keystore import KeyStore, hash_key

__all__ = ["ApiKeyAuthConfig", "ApiKeyAuthenticator", "ApiKeyEntry", "create_api_key_authenticator"]

log = logging.getLogger("stack.auth")


class ApiKeyAuthenticator:
    def __init__(self, config: ApiKeyAuthConfig, store: KeyStore | None = None) -> None:
        self.static = {entry.key_hash: entry for entry in config.keys}
        if len(self.static) != len(config.keys):
            log.warning("api_key: the config lists the same key_hash more than once")
        self.store = store
        self.cache = TokenCache(config.cache_ttl)

    async def authenticate(self, token: str, request: RequestInfo) -> User:
        digest = hash_key(token)
        entry = self.static.get(digest)
        if entry is not None and hmac.compare_digest(entry.key_hash, digest):
            return User(principal=entry.principal, attributes=entry.attributes)
        if self.store is not None:
            cached = self.cache.get(token)
            if cached is not None:
                return cached
            try:
                record = await self.store.verify(token)
            except SQLAlchemyError as exc:
                raise ProviderUnavailableError(f"API key store unavailable: {type(exc).__name__}") from None
            if record is not None:
                user = User(principal=record.principal, attributes=record.attributes)
                self.cache.put(token, user)
                return user
        raise invalid_token("Invalid or revoked API key.")


async def create_api_key_authenticator(config: ApiKeyAuthConfig, context: AuthContext) -> ApiKeyAuthenticator:
    """The ``api_key`` factory: opens the key table in the stack's database unless ``database: false``."""
    store = None
    if config.database:
        store = KeyStore(context.database)
        await store.open()
    return ApiKeyAuthenticator(config, store)
