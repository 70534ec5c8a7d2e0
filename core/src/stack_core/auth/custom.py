"""``custom`` auth: the token is validated by POSTing it to an endpoint of the operator's.

The endpoint receives ``{"api_key": <token>, "request": {"path", "headers", "params"}}`` and answers
200 with ``{"access_attributes": {...}, "message": ..., "principal"?: ...}`` (the seed's shape) or
``{"principal": ..., "attributes": {...}}`` (what Llama Stack's own ``custom`` provider reads); any
4xx refuses the token. The principal is the user's identity; with no attributes the token itself
(hashed) becomes the user's namespace. Results are cached
per token for ``cache_ttl`` seconds. An endpoint that cannot be reached is a 503, never a pass.
"""

from __future__ import annotations

import httpx
import orjson

from ..errors import AuthenticationError, ProviderUnavailableError
from ..hookspecs import RequestInfo
from ..http import pooled_client
from ..resources import User
from .cache import TokenCache, token_hash
from .configs import CustomAuthConfig

__all__ = ["CustomAuthConfig", "CustomAuthenticator"]

FORWARDED_HEADERS = ("content-type", "user-agent", "x-request-id", "x-forwarded-for")


def _attributes(raw: object) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, list[str]] = {}
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        out[str(key)] = [str(v) for v in values if v is not None]
    return {k: v for k, v in out.items() if v}


class CustomAuthenticator:
    def __init__(self, config: CustomAuthConfig) -> None:
        self.config = config
        self.cache = TokenCache(config.cache_ttl)
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            verify: bool | str = self.config.tls_cafile or self.config.verify_tls
            self._client = pooled_client(timeout=self.config.timeout, verify=verify)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def authenticate(self, token: str, request: RequestInfo) -> User:
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        body = {
            "api_key": token,
            "request": {
                "path": request.path,
                "headers": {k: v for k, v in request.headers.items() if k in FORWARDED_HEADERS},
                "params": dict(request.params),
            },
        }
        try:
            response = await self.client.post(
                self.config.endpoint, content=orjson.dumps(body), headers={"content-type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(
                f"Authentication service unavailable: {type(exc).__name__}"
            ) from None
        if 400 <= response.status_code < 500:
            raise AuthenticationError("Invalid or expired token.")
        if response.status_code != 200:
            raise ProviderUnavailableError(f"Authentication service answered {response.status_code}.")
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ProviderUnavailableError("Authentication service answered with invalid JSON.") from None
        if not isinstance(data, dict):
            raise ProviderUnavailableError("Authentication service answered with JSON that is not an object.")
        attributes = _attributes(data.get("access_attributes") or data.get("attributes"))
        principal = str(data.get("principal") or f"token-{token_hash(token)[:16]}")
        if not attributes:
            attributes = {"namespaces": [token_hash(token)[:32]]}
        user = User(principal=principal, attributes=attributes)
        self.cache.put(token, user)
        return user
