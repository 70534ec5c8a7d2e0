"""Registry persistence across restarts, config reconciliation, distribution assembly, mounting."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import echo_plugin
import httpx
import pytest
from in_process import ECHO_CONFIG
from starlette.applications import Starlette
from starlette.routing import Mount

from stack_core import RegisterProvider, create_app, hookimpl
from stack_core.distribution import assemble
from stack_core.errors import ConfigError
from stack_core.plugins import discover


async def test_registered_resource_survives_restart(serve: Any) -> None:
    async with serve() as client:
        await client.post("/v1/voices", json={"voice_id": "kept", "provider_id": "echo-b", "tone": "dry"})
    async with serve() as client:
        voice = (await client.get("/v1/voices/kept")).json()
    assert voice["provider_id"] == "echo-b" and voice["tone"] == "dry"


async def test_config_resources_removed_from_config_are_dropped(serve: Any) -> None:
    async with serve() as client:
        assert (await client.get("/v1/voices/alto")).status_code == 200
    config = copy.deepcopy(ECHO_CONFIG)
    config["registered_resources"] = {"voices": []}
    async with serve(config) as client:
        assert (await client.get("/v1/voices/alto")).status_code == 404


async def test_config_resource_for_unknown_provider_fails_start(plugins: Any) -> None:
    config = copy.deepcopy(ECHO_CONFIG)
    config["registered_resources"] = {"voices": [{"voice_id": "x", "provider_id": "nope"}]}
    app = create_app(config, plugins=plugins)
    with pytest.raises(
        ConfigError, match=r"registered_resources.voices.0: Provider 'nope' does not serve echo"
    ):
        async with app.router.lifespan_context(app):
            pass


async def test_registry_file_is_sqlite_in_wal_mode(serve: Any, stack_home: Path) -> None:
    async with serve():
        pass
    import sqlite3

    db = stack_home / "default" / "registry.db"
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_assembled_distribution_enables_inline_and_env_enabled_remote(plugins: Any) -> None:
    tree = assemble(plugins, {})
    assert [p["provider_type"] for p in tree["providers"]["echo"]] == ["inline::echo", "inline::incomplete"]


class _LocalDefault:
    """A plugin offering a fallback inline echo provider beside an env-enabled remote one."""

    @hookimpl
    def stack_register_providers(self, register: RegisterProvider) -> None:
        common: dict[str, Any] = {
            "api": "echo",
            "config": echo_plugin.EchoConfig,
            "factory": echo_plugin.EchoProvider,
        }
        register(provider_type="inline::local-default", fallback=True, **common)
        register(provider_type="remote::echo-server", enable_env="ECHO_SERVER_URL", **common)


def test_a_fallback_provider_steps_aside_for_an_enabled_remote_one() -> None:
    plugins = discover({"echo": echo_plugin, "local": _LocalDefault()})
    types = [p["provider_type"] for p in assemble(plugins, {})["providers"]["echo"]]
    assert "inline::local-default" in types and "remote::echo-server" not in types
    types = [
        p["provider_type"] for p in assemble(plugins, {"ECHO_SERVER_URL": "http://x"})["providers"]["echo"]
    ]
    assert "remote::echo-server" in types and "inline::local-default" not in types


async def test_mounted_under_a_prefix_in_another_app(plugins: Any) -> None:
    stack_app = create_app(ECHO_CONFIG, plugins=plugins)
    host = Starlette(routes=[Mount("/llm", app=stack_app)])
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
        health = await client.get("/llm/v1/health")
        reply = await client.post("/llm/v1/echo", json={"voice": "alto", "text": "hi"})
    assert health.json() == {"status": "OK"} and reply.json()["text"] == "A:hi"
    await stack_app.state.stack.stop()
