"""``github_token`` auth: GitHub personal access or OAuth tokens, validated against the GitHub API.

``GET {github_api_base_url}/user`` with the token names the user (the principal is its ``login``);
``GET /user/orgs`` lists the organizations, exposed as the ``orgs`` claim. Claims map to access
attributes through ``claims_mapping`` (default: login → roles, orgs → teams). GitHub refusing the
token is a 401; GitHub unreachable or failing is a 503. Results are cached for ``cache_ttl`` seconds.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from ..errors import ProviderUnavailableError
from ..hookspecs import RequestInfo
from ..http import pooled_client
from ..resources import User
from .cache import TokenCache
from .common import attributes_from_claims, invalid_token, tls_verify
from .configs import GitHubTokenConfig

__all__ = ["GitHubTokenAuthenticator", "GitHubTokenConfig"]


class GitHubTokenAuthenticator:
    def __init__(self, config: GitHubTokenConfig) -> None:
        self.config = config
        self.cache = TokenCache(config.cache_ttl)
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = pooled_client(
                base_url=self.config.github_api_base_url.rstrip("/"),
                timeout=self.config.timeout,
                verify=tls_verify(self.config.verify_tls, self.config.tls_cafile),
                max_connections=16,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def authenticate(self, token: str, request: RequestInfo) -> User:
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        profile = await self._get(token, "/user", refuse_on=(401,))
        if not isinstance(profile, dict) or not isinstance(profile.get("login"), str):
            raise ProviderUnavailableError("GitHub API answered /user without a login.")
        orgs = await self._get(token, "/user/orgs", refuse_on=(), params={"per_page": "100"})
        logins = (
            [o["login"] for o in orgs if isinstance(o, dict) and "login" in o]
            if isinstance(orgs, list)
            else []
        )
        claims = {**profile, "orgs": logins}
        user = User(
            principal=profile["login"], attributes=attributes_from_claims(claims, self.config.claims_mapping)
        )
        self.cache.put(token, user)
        return user

    async def _get(
        self, token: str, path: str, refuse_on: tuple[int, ...], params: dict[str, str] | None = None
    ) -> Any:
        headers = {
            "authorization": f"Bearer {token}",
            "accept": "application/vnd.github+json",
            "x-github-api-version": "2022-11-28",
        }
        try:
            response = await self.client.get(path, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(f"GitHub API unavailable: {type(exc).__name__}") from None
        if response.status_code in refuse_on:
            raise invalid_token("GitHub rejected the token.")
        if response.status_code in (403, 404) and path == "/user/orgs":
            return []  # a token without read:org still identifies its user
        if response.status_code != 200:
            raise ProviderUnavailableError(f"GitHub API answered {response.status_code} on {path}.")
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ProviderUnavailableError("GitHub API answered with invalid JSON.") from None
