"""The JWKS key set: fetched once, re-fetched on an unknown kid at most every min_refetch_interval."""

from __future__ import annotations

import httpx
import pytest
from fake_idp import FakeIdP, SigningKey

from stack_core.auth.jwks import JwksConfig, JwksKeys
from stack_core.errors import AuthenticationError, ProviderUnavailableError


async def test_unknown_kid_refetch_is_rate_limited() -> None:
    with FakeIdP() as idp:
        idp.jwks.append(SigningKey("a").jwk)
        async with httpx.AsyncClient() as client:
            keys = JwksKeys(JwksConfig(uri=f"{idp.url}/jwks", min_refetch_interval=60), lambda: client)
            assert (await keys.key_for("a", "RS256")).kid == "a"
            for _ in range(5):
                with pytest.raises(AuthenticationError, match="unknown kid"):
                    await keys.key_for("b", "RS256")
            assert idp.calls["jwks"] == 1
            keys.fetched_at = (keys.fetched_at or 0) - 61
            idp.jwks.append(SigningKey("b").jwk)
            assert (await keys.key_for("b", "RS256")).kid == "b"
            with pytest.raises(AuthenticationError, match="does not match"):
                await keys.key_for("b", "ES256")
            assert idp.calls["jwks"] == 2


async def test_symmetric_keys_are_ignored_and_an_empty_set_is_503() -> None:
    with FakeIdP() as idp:
        idp.jwks.append({"kty": "oct", "kid": "h", "k": "c2VjcmV0"})
        async with httpx.AsyncClient() as client:
            keys = JwksKeys(JwksConfig(uri=f"{idp.url}/jwks"), lambda: client)
            with pytest.raises(ProviderUnavailableError, match="no usable signing key"):
                await keys.key_for("h", "RS256")
