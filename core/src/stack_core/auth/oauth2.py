"""``oauth2_token`` auth: OAuth 2.0 / OIDC bearer tokens, verified locally as JWTs against a JWKS or
remotely through RFC 7662 token introspection.

JWTs must be signed with RS256/RS384/RS512/ES256/ES384/PS256 (``none`` and HMAC are refused, so a
token "signed" with the public key as an HMAC secret is refused too); ``exp`` is required and
``exp``/``nbf``/``iat`` are checked with ``leeway`` seconds of clock skew; ``iss`` and ``aud`` are
checked when ``issuer``/``audience`` are configured. The principal is the ``sub`` claim; access
attributes come from the claims named in ``claims_mapping``. An active introspection answer is
cached for ``cache_ttl`` seconds. A JWKS or introspection endpoint that is down is a 503.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import orjson

from ..errors import ProviderUnavailableError
from ..hookspecs import RequestInfo
from ..http import pooled_client
from ..resources import User
from .cache import TokenCache
from .common import attributes_from_claims, invalid_token, tls_verify
from .configs import IntrospectionConfig, OAuth2TokenConfig
from .jwks import ALLOWED_ALGORITHMS, JwksKeys

__all__ = ["IntrospectionConfig", "OAuth2TokenAuthenticator", "OAuth2TokenConfig"]

log = logging.getLogger("stack.auth")

_REASONS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.ExpiredSignatureError, "Token has expired."),
    (jwt.ImmatureSignatureError, "Token is not yet valid."),
    (jwt.InvalidIssuerError, "Token issuer is not accepted."),
    (jwt.InvalidAudienceError, "Token audience is not accepted."),
    (jwt.InvalidSignatureError, "Token signature is invalid."),
    (jwt.MissingRequiredClaimError, "Token lacks a required claim."),
]


def _reason(exc: jwt.PyJWTError) -> str:
    return next((text for kind, text in _REASONS if isinstance(exc, kind)), "Token is not a valid JWT.")


class OAuth2TokenAuthenticator:
    def __init__(self, config: OAuth2TokenConfig) -> None:
        self.config = config
        self.cache = TokenCache(config.cache_ttl)
        self._client: httpx.AsyncClient | None = None
        self.jwks = JwksKeys(config.jwks, self.client) if config.jwks is not None else None
        if config.issuer is None and config.audience is None:
            log.warning(
                "oauth2_token: neither issuer nor audience is configured; any issuer's token is accepted"
            )

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            verify = tls_verify(self.config.verify_tls, self.config.tls_cafile)
            self._client = pooled_client(timeout=self.config.timeout, verify=verify, max_connections=16)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def authenticate(self, token: str, request: RequestInfo) -> User:
        if self.jwks is not None:
            return self._user(await self._verify_jwt(self.jwks, token))
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        claims = await self._introspect(token)
        user = self._user(claims)
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp - time.time() > self.config.cache_ttl:
            self.cache.put(token, user)
        return user

    def _user(self, claims: dict[str, Any]) -> User:
        principal = claims.get("sub") or claims.get("username") or claims.get("client_id")
        if not isinstance(principal, str) or not principal:
            raise invalid_token("Token names no subject.")
        return User(
            principal=principal, attributes=attributes_from_claims(claims, self.config.claims_mapping)
        )

    async def _verify_jwt(self, keys: JwksKeys, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise invalid_token("Token is not a valid JWT.") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALLOWED_ALGORITHMS:
            raise invalid_token(
                f"Token algorithm is not accepted (allowed: {', '.join(ALLOWED_ALGORITHMS)})."
            )
        if kid is not None and not isinstance(kid, str):
            raise invalid_token("Token kid is not a string.")
        key = await keys.key_for(kid, alg)
        config = self.config
        required = ["exp", "sub", *(["iss"] if config.issuer else []), *(["aud"] if config.audience else [])]
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.jwk.key,
                algorithms=[alg],
                audience=config.audience,
                issuer=config.issuer,
                leeway=config.leeway,
                options={"require": required, "verify_aud": config.audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise invalid_token(_reason(exc)) from None
        except (TypeError, ValueError):
            raise invalid_token("Token is not a valid JWT.") from None
        return claims

    async def _introspect(self, token: str) -> dict[str, Any]:
        spec = self.config.introspection
        assert spec is not None
        form = {"token": token, "token_type_hint": "access_token"}
        headers = {"accept": "application/json"}
        secret = spec.client_secret.get_secret_value()
        if spec.send_secret_in_body:
            form.update(client_id=spec.client_id, client_secret=secret)
        else:
            basic = f"{quote(spec.client_id, safe='')}:{quote(secret, safe='')}".encode()
            headers["authorization"] = f"Basic {base64.b64encode(basic).decode()}"
        try:
            response = await self.client().post(spec.url, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(f"Token introspection unavailable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ProviderUnavailableError(f"Token introspection endpoint answered {response.status_code}.")
        try:
            claims = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            claims = None
        if not isinstance(claims, dict):
            raise ProviderUnavailableError("Token introspection endpoint answered with invalid JSON.")
        self._check_introspected(claims)
        return claims

    def _check_introspected(self, claims: dict[str, Any]) -> None:
        if claims.get("active") is not True:
            raise invalid_token("Token is not active.")
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp < time.time() - self.config.leeway:
            raise invalid_token("Token has expired.")
        if self.config.issuer and claims.get("iss", self.config.issuer) != self.config.issuer:
            raise invalid_token("Token issuer is not accepted.")
        if self.config.audience and "aud" in claims:
            wanted = (
                {self.config.audience} if isinstance(self.config.audience, str) else set(self.config.audience)
            )
            got = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
            if not wanted & set(map(str, got)):
                raise invalid_token("Token audience is not accepted.")
