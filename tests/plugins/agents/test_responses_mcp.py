"""An ``mcp`` tool naming a server no tool group serves, as OpenAI takes it: ``stack run``
(Responses, remote::model-context-protocol, remote::vllm over the fake backend) registers the
server's group for the user on first use and reuses it; other users don't see it. The server is a
real FastMCP one."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from backends import api_key_auth, as_user, fake_backend, stack_server
from mcp_servers import mcp_server
from responses_stack import MODEL, responses_config, sdk

from stack_core.testing import StackServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    with mcp_server() as url:
        yield f"{url}/mcp"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    runtime = {"tool_runtime": [{"provider_id": "mcp", "provider_type": "remote::model-context-protocol"}]}
    with (
        fake_backend(models=MODEL) as backend,
        stack_server(
            responses_config(backend, runtime, auth=api_key_auth()), tmp_path_factory.mktemp("home")
        ) as server,
    ):
        yield server


def ping(url: str) -> Any:
    return {
        "type": "mcp",
        "server_label": "tests",
        "server_url": url,
        "allowed_tools": ["ping"],
        "require_approval": "never",
    }


def groups(server: StackServer, user: str, url: str) -> list[str]:
    reply = httpx.get(f"{server.url}/v1/toolgroups", headers=as_user(user), timeout=30)
    reply.raise_for_status()
    return [g["identifier"] for g in reply.json()["data"] if (g.get("mcp_endpoint") or {}).get("uri") == url]


def test_an_unregistered_server_is_registered_for_the_user_and_called(
    server: StackServer, mcp_url: str
) -> None:
    with sdk(server, "sk-alice") as client:
        for _ in range(2):
            response = client.responses.create(
                model=MODEL, input="ping the server", tools=[ping(mcp_url)], tool_choice="required"
            )
            kinds = [item.type for item in response.output]
            assert kinds == ["mcp_list_tools", "mcp_call", "message"], kinds
            listing, call = response.output[0], response.output[1]
            assert listing.type == "mcp_list_tools" and [t.name for t in listing.tools] == ["ping"]
            assert call.type == "mcp_call" and call.name == "ping" and call.output == "pong"
            assert call.server_label == "tests" and call.error is None
    [group] = groups(server, "alice", mcp_url)  # the second response reused the first's group
    assert group.startswith("mcp::tests-")
    assert groups(server, "bob", mcp_url) == []


def test_each_user_gets_a_group_of_their_own(server: StackServer, mcp_url: str) -> None:
    with sdk(server, "sk-bob") as client:
        response = client.responses.create(
            model=MODEL, input="ping", tools=[ping(mcp_url)], tool_choice="required"
        )
    assert [item.output for item in response.output if item.type == "mcp_call"] == ["pong"]
    [bobs] = groups(server, "bob", mcp_url)
    assert bobs not in groups(server, "alice", mcp_url)


def test_a_background_response_keeps_mcp_credentials_sealed_and_only_while_it_runs(
    server: StackServer, mcp_url: str
) -> None:
    """The job of a background response stores its request without the MCP tool's authorization
    (it is the job's sealed secret, which the run uses: the server lists ``vault`` only to the
    token 'admin') and deletes the secret when the job ends."""
    vault = {**ping(mcp_url), "allowed_tools": ["vault"], "authorization": "admin"}
    with sdk(server, "sk-alice") as client:
        made = client.responses.create(
            model=MODEL, input="open the vault", tools=[vault], tool_choice="required", background=True
        )
        deadline = time.monotonic() + 30
        while (done := client.responses.retrieve(made.id)).status in ("queued", "in_progress"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert [i.output for i in done.output if i.type == "mcp_call"] == ["the vault"], done.output
    database = Path(server.env["STACK_HOME"]) / "default" / "registry.db"
    with contextlib.closing(sqlite3.connect(database)) as db:
        [(params,)] = db.execute("SELECT params FROM stack_jobs WHERE id = ?", (f"job_{made.id}",))
        deadline = time.monotonic() + 10  # the job ends just after the response it stores
        while db.execute("SELECT count(*) FROM stack_jobs_secrets").fetchone() != (0,):
            assert time.monotonic() < deadline, "the job's secrets outlived it"
            time.sleep(0.05)
    [tool] = json.loads(params)["request"]["tools"]
    assert tool["authorization"] is None and tool["headers"] is None and "admin" not in params
