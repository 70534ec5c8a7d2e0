"""Built-in auth providers in the in-process app: built after the stack starts, closed on stop."""

from __future__ import annotations

import copy
from typing import Any

from fake_idp import FakeIdP, SigningKey, claims
from in_process import ECHO_CONFIG


async def test_oauth2_in_process_app_authenticates_and_closes_cleanly(serve: Any) -> None:
    key = SigningKey("k")
    with FakeIdP() as idp:
        idp.jwks.append(key.jwk)
        config = copy.deepcopy(ECHO_CONFIG)
        config["server"] = {
            "auth": {"provider_config": {"type": "oauth2_token", "jwks": {"uri": f"{idp.url}/jwks"}}}
        }
        async with serve(config) as client:
            ok = await client.get("/v1/voices", headers={"authorization": f"Bearer {key.sign(claims())}"})
            refused = await client.get("/v1/voices", headers={"authorization": "Bearer x"})
    assert ok.status_code == 200 and refused.status_code == 401


async def test_api_key_provider_gets_the_stack_database(serve: Any) -> None:
    config = copy.deepcopy(ECHO_CONFIG)
    config["server"] = {"auth": {"provider_config": {"type": "api_key"}}}
    async with serve(config) as client:
        refused = await client.get("/v1/voices", headers={"authorization": "Bearer sk-stack-0123abcd-x"})
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "authentication_error"
