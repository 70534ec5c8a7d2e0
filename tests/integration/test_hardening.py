"""Issue 14: what one user, one client or one backend cannot do to everybody else (real sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from backends import fake_backend, inference_config, stack_server

from stack_core.auth.keystore import hash_key
from stack_core.testing import StackServer

pytestmark = pytest.mark.integration

USERS = {"alice": {"teams": ["ml"]}, "bob": {"teams": ["web"]}, "root": {"roles": ["admin"]}}


def api_keys() -> dict[str, Any]:
    """``api_key`` auth where user ``<name>``'s token is ``sk-<name>``."""
    keys = [{"key_hash": hash_key(f"sk-{u}"), "principal": u, "attributes": a} for u, a in USERS.items()]
    return {"provider_config": {"type": "api_key", "keys": keys, "database": False}}


def as_(user: str) -> dict[str, str]:
    return {"authorization": f"Bearer sk-{user}"}


def shared_config(backend: str, **server: Any) -> dict[str, Any]:
    config = inference_config(
        ("vllm", "remote::vllm", {"url": f"{backend}/v1"}),
        models=[{"model_id": "chat", "provider_id": "vllm", "provider_model_id": "m"}],
        shields=[{"shield_id": "guard", "provider_id": "regex"}],
        server={"auth": api_keys(), **server},
    )
    config["apis"].append("safety")
    config["providers"]["safety"] = [{"provider_id": "regex", "provider_type": "inline::regex"}]
    return config


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with fake_backend(models="m") as backend:
        with stack_server(shared_config(backend), tmp_path_factory.mktemp("home")) as server:
            yield server


CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}


def test_config_resources_belong_to_the_operator(server: StackServer) -> None:
    for path in ("/v1/models/chat", "/v1/models/m", "/v1/shields/guard"):
        assert httpx.get(server.url + path, headers=as_("bob")).status_code == 200
        assert httpx.delete(server.url + path, headers=as_("alice")).status_code in (403, 404)
    assert httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=as_("bob")).status_code == 200
    shield = {"shield_id": "guard", "messages": [{"role": "user", "content": "hi"}], "params": {}}
    assert httpx.post(f"{server.url}/v1/safety/run-shield", json=shield, headers=as_("bob")).status_code == 200
    assert httpx.delete(f"{server.url}/v1/models/m", headers=as_("root")).status_code == 204
