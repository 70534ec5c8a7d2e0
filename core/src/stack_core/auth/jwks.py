"""The signing keys of a JWKS endpoint: fetched on first use, fetched again every
``key_recheck_period`` seconds, and re-fetched (at most every ``min_refetch_interval`` seconds) when
a token names a ``kid`` the set does not hold — that is how a key rotation is picked up.

Only asymmetric signature keys are kept (RSA, EC); a JWKS that cannot be fetched or holds no usable
key is a ``ProviderUnavailableError`` (503), never a pass.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson
from jwt import PyJWK, PyJWTError

from ..errors import ProviderUnavailableError
from .common import invalid_token
from .configs import JwksConfig

__all__ = ["ALLOWED_ALGORITHMS", "JwksConfig", "JwksKeys", "SigningKey"]

log = logging.getLogger("stack.auth")

ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC"}
_CURVE = {"ES256": "P-256", "ES384": "P-384"}


@dataclass(frozen=True)
class SigningKey:
    kid: str | None
    kty: str
    alg: str | None
    crv: str | None
    jwk: PyJWK

    def accepts(self, alg: str) -> bool:
        """Whether a token signed with ``alg`` may be verified with this key."""
        if self.alg is not None:
            return self.alg == alg
        return _KEY_TYPE[alg[:2]] == self.kty and _CURVE.get(alg, self.crv) == self.crv


def _usable(raw: object) -> bool:
    return (
        isinstance(raw, dict)
        and raw.get("kty") in ("RSA", "EC")
        and raw.get("use", "sig") == "sig"
        and raw.get("alg", "RS256") in ALLOWED_ALGORITHMS
    )


def parse_jwks(content: bytes) -> list[SigningKey]:
    """The usable signing keys of a JWKS document; unusable entries are skipped."""
    try:
        raw_keys = orjson.loads(content)["keys"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ProviderUnavailableError("JWKS endpoint answered with something that is not a JWKS.") from None
    keys: list[SigningKey] = []
    for raw in raw_keys if isinstance(raw_keys, list) else []:
        if not _usable(raw):
            continue
        try:
            jwk = PyJWK(raw)
        except PyJWTError as exc:
            log.warning("skipping JWKS key %r: %s", raw.get("kid"), exc)
            continue
        keys.append(SigningKey(raw.get("kid"), raw["kty"], raw.get("alg"), raw.get("crv"), jwk))
    if not keys:
        raise ProviderUnavailableError("JWKS holds no usable signing key (RSA or EC, use=sig).")
    return keys


class JwksKeys:
    """The key set of one JWKS endpoint, fetched through ``client()`` (the provider's pooled client)."""

    def __init__(self, config: JwksConfig, client: Callable[[], httpx.AsyncClient]) -> None:
        self.config, self.client = config, client
        self.keys: list[SigningKey] = []
        self.fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None, alg: str) -> SigningKey:
        """The key that verifies a token with header ``kid``/``alg``, or a 401 if there is none."""
        await self._refresh(max_age=self.config.key_recheck_period)
        key = self._find(kid)
        if key is None and kid is not None:
            await self._refresh(max_age=self.config.min_refetch_interval)
            key = self._find(kid)
        if key is None:
            raise invalid_token("Token signing key is not in the key set (unknown kid).")
        if not key.accepts(alg):
            raise invalid_token("Token algorithm does not match its signing key.")
        return key

    def _find(self, kid: str | None) -> SigningKey | None:
        if kid is None:
            return self.keys[0] if len(self.keys) == 1 else None
        return next((k for k in self.keys if k.kid == kid), None)

    async def _refresh(self, max_age: float) -> None:
        if self.fetched_at is not None and time.monotonic() - self.fetched_at < max_age:
            return
        async with self._lock:
            if self.fetched_at is not None and time.monotonic() - self.fetched_at < max_age:
                return  # another request fetched while we waited
            self.keys = await self._fetch()
            self.fetched_at = time.monotonic()
            log.info("fetched %d signing key(s) from the JWKS endpoint", len(self.keys))

    async def _fetch(self) -> list[SigningKey]:
        headers = {"accept": "application/json"}
        if self.config.token is not None and self.config.token.get_secret_value():
            headers["authorization"] = f"Bearer {self.config.token.get_secret_value()}"
        try:
            response = await self.client().get(self.config.uri, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(f"JWKS endpoint unavailable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ProviderUnavailableError(f"JWKS endpoint answered {response.status_code}.")
        return parse_jwks(response.content)
