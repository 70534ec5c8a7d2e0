"""The auth hook wired into the server: bearer required, user recorded as resource owner."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from in_process import ECHO_CONFIG

from stack_core import create_app
from stack_core.errors import ConfigError

AUTH = {"provider_config": {"type": "token_table", "tokens": {"tok-alice": "alice"}}}


def config_with_auth() -> dict[str, Any]:
    config = copy.deepcopy(ECHO_CONFIG)
    config["server"] = {"auth": AUTH}
    return config


async def test_bearer_required_except_health_and_version(serve: Any) -> None:
    async with serve(config_with_auth()) as client:
        assert (await client.get("/v1/health")).status_code == 200
        assert (await client.get("/v1/version")).status_code == 200
        assert (await client.get("/v1/health/ready")).status_code == 200
        missing = await client.get("/v1/voices")
        bad = await client.get("/v1/voices", headers={"authorization": "Bearer nope"})
        good = await client.get("/v1/voices", headers={"authorization": "Bearer tok-alice"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["type"] == "authentication_error"
    assert bad.status_code == 401 and "tok-" not in bad.text
    assert good.status_code == 200


async def test_the_docs_page_is_public_and_the_document_it_shows_is_not(serve: Any) -> None:
    async with serve(config_with_auth()) as client:
        page = await client.get("/docs")
        asset = await client.get("/docs/swagger-ui.css")
        document = await client.get("/openapi.json")
    assert (page.status_code, asset.status_code, document.status_code) == (200, 200, 401)


async def test_registered_resource_records_its_owner(serve: Any) -> None:
    async with serve(config_with_auth()) as client:
        headers = {"authorization": "Bearer tok-alice"}
        await client.post("/v1/voices", json={"voice_id": "mine", "provider_id": "echo-a"}, headers=headers)
        voice = (await client.get("/v1/voices/mine", headers=headers)).json()
    assert voice["owner"] == {"principal": "alice", "attributes": {"roles": ["alice"]}}


def test_unknown_auth_type_fails_at_start(plugins: Any) -> None:
    config = config_with_auth()
    config["server"]["auth"]["provider_config"]["type"] = "kerberos"
    with pytest.raises(
        ConfigError,
        match=r"'kerberos' is not an installed auth provider "
        r"\(installed: api_key, custom, github_token, oauth2_token, token_table\)",
    ):
        create_app(config, plugins=plugins)
