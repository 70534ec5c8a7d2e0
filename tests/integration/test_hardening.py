"""Issue 14: what one user, one client or one backend cannot do to everybody else (real sockets)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from backends import api_key_auth, fake_backend, inference_config, stack_server
from backends import as_user as as_

from stack_core.testing import StackServer

pytestmark = pytest.mark.integration


def shared_config(backend: str, **server: Any) -> dict[str, Any]:
    config = inference_config(
        ("vllm", "remote::vllm", {"url": f"{backend}/v1"}),
        models=[{"model_id": "chat", "provider_id": "vllm", "provider_model_id": "m"}],
        shields=[{"shield_id": "guard", "provider_id": "regex"}],
        server={"auth": api_key_auth(), **server},
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
    assert (
        httpx.post(f"{server.url}/v1/safety/run-shield", json=shield, headers=as_("bob")).status_code == 200
    )
    assert httpx.delete(f"{server.url}/v1/models/m", headers=as_("root")).status_code == 204


async def race(urls: tuple[str, str], body: dict[str, Any], rounds: int = 20) -> list[Counter[int]]:
    """``rounds`` times, alice (at ``urls[0]``) and bob (at ``urls[1]``) register one new id at once."""
    async with httpx.AsyncClient(timeout=30) as client:
        results = []
        for i in range(rounds):
            named = {**body, "model_id": f"race-{i}"}
            replies = await asyncio.gather(
                client.post(f"{urls[0]}/v1/models", json=named, headers=as_("alice")),
                client.post(f"{urls[1]}/v1/models", json=named, headers=as_("bob")),
            )
            results.append(Counter(r.status_code for r in replies))
    return results


REGISTRATION = {"provider_id": "vllm", "provider_model_id": "m"}


def test_one_concurrent_registration_wins(server: StackServer) -> None:
    assert asyncio.run(race((server.url, server.url), REGISTRATION)) == [Counter({200: 1, 409: 1})] * 20


def test_a_taken_id_is_the_owners_alone(server: StackServer) -> None:
    body = {**REGISTRATION, "model_id": "taken"}
    post = lambda user, body=body: httpx.post(f"{server.url}/v1/models", json=body, headers=as_(user))  # noqa: E731
    assert post("alice").json()["owner"]["principal"] == "alice"
    assert post("alice").status_code == 200  # idempotent for its owner
    for reply in (
        post("bob"),
        post("bob", {**body, "provider_model_id": "other"}),
        post("alice", {**body, "metadata": {"x": 1}}),
    ):
        assert reply.status_code == 409 and "alice" not in reply.text and "teams" not in reply.text
    assert post("bob", {**REGISTRATION, "model_id": "chat"}).status_code == 409
