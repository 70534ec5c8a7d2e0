"""A fake identity provider on a real socket (aiohttp in a background thread), and JWT helpers.

Serves ``GET /jwks`` (optionally behind a bearer token), ``POST /introspect`` (RFC 7662, HTTP Basic
client credentials), a GitHub API subset (``GET /github/user``, ``/github/user/orgs``) and
``GET /stats`` (calls per route). Tests mutate ``idp.jwks``, ``idp.active`` and ``idp.github`` live::

    with FakeIdP(jwks_token="t") as idp:
        key = SigningKey("kid-1"); idp.jwks.append(key.jwk)
        token = key.sign({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE})
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import Counter
from typing import Any

import jwt
from aiohttp import web
from background import BackgroundServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER, AUDIENCE = "https://idp.test", "stack-tests"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(sub: str = "alice", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 600, **extra}


def forge(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None = None) -> str:
    """A JWT built by hand: unsigned (``alg: none``) or HMAC-SHA256 with ``secret``."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{b64url(signature)}"


class SigningKey:
    """An RSA key pair with a ``kid``: its public JWK, its PEM, and a signer."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk: dict[str, Any] = {
            **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key())),
            "kid": kid,
            "use": "sig",
        }
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, payload: dict[str, Any], kid: str | None = None, alg: str = "RS256") -> str:
        return jwt.encode(payload, self.private, algorithm=alg, headers={"kid": kid or self.kid})


class FakeIdP(BackgroundServer):
    def __init__(
        self, jwks_token: str | None = None, client: tuple[str, str] = ("stack", "client-secret")
    ) -> None:
        self.jwks: list[dict[str, Any]] = []
        self.active: dict[str, dict[str, Any]] = {}  # introspection: token -> claims
        self.github: dict[str, dict[str, Any]] = {}  # GitHub: token -> {"login", "orgs", ...}
        self.calls: Counter[str] = Counter()
        self.jwks_token, self.client = jwks_token, client
        super().__init__()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/jwks", self._jwks)
        app.router.add_post("/introspect", self._introspect)
        app.router.add_get("/github/user", self._github_user)
        app.router.add_get("/github/user/orgs", self._github_orgs)
        app.router.add_get("/stats", self._stats)
        return app

    async def _stats(self, _: web.Request) -> web.Response:
        return web.json_response(dict(self.calls))

    async def _jwks(self, request: web.Request) -> web.Response:
        self.calls["jwks"] += 1
        if self.jwks_token and request.headers.get("authorization") != f"Bearer {self.jwks_token}":
            return web.json_response({"message": "forbidden"}, status=403)
        return web.json_response({"keys": self.jwks})

    async def _introspect(self, request: web.Request) -> web.Response:
        self.calls["introspect"] += 1
        basic = base64.b64encode(":".join(self.client).encode()).decode()
        if request.headers.get("authorization") != f"Basic {basic}":
            return web.json_response({"error": "invalid_client"}, status=401)
        token = (await request.post()).get("token")
        found = self.active.get(str(token))
        return web.json_response({"active": True, **found} if found else {"active": False})

    def _github(self, request: web.Request) -> dict[str, Any] | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return self.github.get(token) if scheme == "Bearer" else None

    async def _github_user(self, request: web.Request) -> web.Response:
        self.calls["github_user"] += 1
        user = self._github(request)
        if user is None:
            return web.json_response({"message": "Bad credentials"}, status=401)
        return web.json_response({k: v for k, v in user.items() if k != "orgs"})

    async def _github_orgs(self, request: web.Request) -> web.Response:
        self.calls["github_orgs"] += 1
        user = self._github(request)
        if user is None:
            return web.json_response({"message": "Bad credentials"}, status=401)
        return web.json_response([{"login": org, "id": i} for i, org in enumerate(user.get("orgs", []))])
