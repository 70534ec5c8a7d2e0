"""remote::model-context-protocol behind ``stack run`` (custom auth) over real sockets, against
real FastMCP servers: the conformance suite, the 0.2 SDK's register / list / invoke / unregister
over SSE and streamable HTTP with schemas intact, timeouts, a server that is down, per-user
headers that reach the server but never the log or the registry, and users' groups kept apart."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from auth_endpoint import spawn_auth_endpoint
from llama_stack_client import LlamaStackClient, NotFoundError
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_servers import mcp_server

from stack_core.testing import StackServer, Target, ToolRuntimeConformance, free_port

pytestmark = pytest.mark.integration

TOKENS = {
    "tok-alice": {"principal": "alice", "access_attributes": {"teams": ["a"]}},
    "tok-bob": {"principal": "bob", "access_attributes": {"teams": ["b"]}},
}
ALICE, BOB = ({"authorization": f"Bearer {t}"} for t in TOKENS)
SECRETS = ("mcp-secret-of-alice", "mcp-secret-of-bob")


@pytest.fixture(scope="module")
def tools_url() -> Iterator[str]:
    """A server with the plain tool names, for the groups the tests register one at a time."""
    with mcp_server() as url:
        yield url


@pytest.fixture(scope="module")
def server_and_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StackServer, str]]:
    """The stack, and a server whose tools are named ``c_*`` behind the config's public group
    ``mcp::shared``; that server starts after the stack (a group whose server is down at
    start-up does not stop it; its tools are listed when first needed)."""
    port = free_port()
    auth_url, auth = spawn_auth_endpoint(TOKENS, accept_all=False)
    config = {
        "version": 2,
        "apis": ["tool_runtime"],
        "providers": {
            "tool_runtime": [
                {
                    "provider_id": "mcp",
                    "provider_type": "remote::model-context-protocol",
                    "config": {"timeout_s": 2, "connect_timeout_s": 2},
                }
            ]
        },
        "registered_resources": {
            "tool_groups": [
                {
                    "toolgroup_id": "mcp::shared",
                    "provider_id": "mcp",
                    "mcp_endpoint": {"uri": f"http://127.0.0.1:{port}/mcp"},
                }
            ]
        },
        "server": {"auth": {"provider_config": {"type": "custom", "endpoint": f"{auth_url}/validate"}}},
    }
    env = {"STACK_HOME": str(tmp_path_factory.mktemp("home")), "STACK_PLUGINS": "mcp"}
    try:
        with StackServer(config, env=env) as server, mcp_server(port, prefix="c_") as shared_url:
            yield server, shared_url
    finally:
        auth.kill()
        auth.wait(10)


@pytest.fixture(scope="module")
def server(server_and_shared: tuple[StackServer, str]) -> StackServer:
    return server_and_shared[0]


@pytest.fixture(scope="module")
def shared_url(server_and_shared: tuple[StackServer, str]) -> str:
    return server_and_shared[1]


class TestMcpConformance(ToolRuntimeConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return Target(
            url=server.url,
            headers=ALICE,
            extra={
                "toolgroup_id": "mcp::shared",
                "call": {"tool_name": "c_join", "kwargs": {"items": ["x", "y"], "sep": "+"}, "expect": "x+y"},
                "failing_call": {"tool_name": "c_explode", "kwargs": {}},
            },
        )


def client(server: StackServer, token: str = "tok-alice", **options: Any) -> LlamaStackClient:
    return LlamaStackClient(base_url=server.url, api_key=token, max_retries=0, **options)


async def listed_directly(uri: str) -> dict[str, Any]:
    async with streamable_http_client(uri) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        return {t.name: t.inputSchema for t in (await session.list_tools()).tools}


def text(result: Any) -> str:
    return "".join(item.text for item in result.content if item.type == "text")


@pytest.mark.parametrize("wire", ["sse", "mcp"])
def test_the_sdk_registers_lists_invokes_and_unregisters(
    server: StackServer, tools_url: str, wire: str
) -> None:
    sdk = client(server)
    uri = f"{tools_url}/{wire}"
    sdk.toolgroups.register(toolgroup_id="mcp::x", provider_id="mcp", mcp_endpoint={"uri": uri})
    try:
        tools = sdk.tools.list(toolgroup_id="mcp::x")
        schemas = {t.identifier: (t.model_extra or {})["input_schema"] for t in tools}
        assert schemas == asyncio.run(listed_directly(f"{tools_url}/mcp"))
        assert {t.toolgroup_id for t in tools} == {"mcp::x"}
        describe = next(t for t in tools if t.identifier == "describe")
        assert [(p.name, p.parameter_type) for p in describe.parameters] == [("place", "object")]
        invoke = sdk.tool_runtime.invoke_tool
        place = {"name": "Home", "at": {"x": 1, "y": 2}, "tags": ["warm"]}
        assert text(invoke(tool_name="describe", kwargs={"place": place})) == "Home at (1.0, 2.0) tagged warm"
        assert text(invoke(tool_name="join", kwargs={"items": ["a", "b"], "sep": "-"})) == "a-b"
        distance = invoke(tool_name="distance", kwargs={"a": {"x": 0, "y": 0}, "b": {"x": 6, "y": 8}})
        assert text(distance) == "10.0" and distance.metadata == {"structured_content": {"result": 10.0}}
        assert text(invoke(tool_name="paint", kwargs={"color": "green"})) == "painted green"
        assert text(invoke(tool_name="ping", kwargs={})) == "pong"
        failed = invoke(tool_name="explode", kwargs={"reason": "test"})
        assert (
            failed.error_code == 1 and failed.error_message == "Error executing tool explode: exploded: test"
        )
        assert invoke(tool_name="pixel", kwargs={}).content[0].type == "image"
    finally:
        sdk.toolgroups.unregister(toolgroup_id="mcp::x")
    with pytest.raises(NotFoundError):
        sdk.tools.list(toolgroup_id="mcp::x")


def test_a_slow_tool_is_a_504_within_the_timeout(server: StackServer) -> None:
    body = {"tool_name": "c_slow", "kwargs": {"seconds": 30}}
    began = time.monotonic()
    reply = httpx.post(f"{server.url}/v1/tool-runtime/invoke", json=body, headers=ALICE, timeout=20)
    assert reply.status_code == 504 and time.monotonic() - began < 5
    assert "'mcp::shared'" in reply.json()["error"]["message"]
    after = httpx.post(f"{server.url}/v1/tool-runtime/invoke", json={"tool_name": "c_ping"}, headers=ALICE)
    assert after.json()["content"] == [{"type": "text", "text": "pong"}]


def test_a_server_that_is_down_is_a_502_naming_group_and_endpoint(server: StackServer) -> None:
    uri = f"http://127.0.0.1:{free_port()}/sse"
    body = {"toolgroup_id": "mcp::down", "provider_id": "mcp", "mcp_endpoint": {"uri": uri}}
    assert httpx.post(f"{server.url}/v1/toolgroups", json=body, headers=ALICE).status_code == 200
    try:
        began = time.monotonic()
        reply = httpx.get(f"{server.url}/v1/tools", params={"toolgroup_id": "mcp::down"}, headers=ALICE)
        assert reply.status_code == 502 and time.monotonic() - began < 2
        assert f"'mcp::down' at {uri} failed" in reply.json()["error"]["message"]
        everything = httpx.get(f"{server.url}/v1/tools", headers=ALICE).json()["data"]
        assert "c_ping" in {t["name"] for t in everything}
    finally:
        httpx.delete(f"{server.url}/v1/toolgroups/mcp::down", headers=ALICE)


def test_another_users_group_is_invisible(server: StackServer, tools_url: str) -> None:
    alice, bob = client(server), client(server, "tok-bob")
    alice.toolgroups.register(
        toolgroup_id="mcp::alices", provider_id="mcp", mcp_endpoint={"uri": f"{tools_url}/mcp"}
    )
    try:
        assert text(alice.tool_runtime.invoke_tool(tool_name="ping", kwargs={})) == "pong"
        assert "mcp::alices" not in {g.identifier for g in bob.toolgroups.list()}
        with pytest.raises(NotFoundError):
            bob.tools.list(toolgroup_id="mcp::alices")
        with pytest.raises(NotFoundError):
            bob.tool_runtime.invoke_tool(tool_name="ping", kwargs={})
        assert "ping" not in {t.identifier for t in bob.tools.list()}
    finally:
        alice.toolgroups.unregister(toolgroup_id="mcp::alices")


def test_per_request_headers_reach_the_server_per_user_and_are_kept_nowhere(
    server: StackServer, shared_url: str, tools_url: str
) -> None:
    uri = f"{shared_url}/mcp"
    before = httpx.get(f"{shared_url}/stats").json()["sessions"]
    users = [
        client(server, token, provider_data={"mcp_headers": {uri: {"Authorization": f"Bearer {secret}"}}})
        for token, secret in zip(TOKENS, SECRETS, strict=True)
    ]
    for _ in range(3):
        for sdk, secret in zip(users, SECRETS, strict=True):
            sdk.tool_runtime.invoke_tool(tool_name="c_ping", kwargs={})
            seen = sdk.tool_runtime.invoke_tool(tool_name="c_header", kwargs={"name": "authorization"})
            assert text(seen) == f"Bearer {secret}"
    assert httpx.get(f"{shared_url}/stats").json()["sessions"] - before == 2  # one per user, kept open
    raw = {
        "X-Stack-Provider-Data": json.dumps({"mcp_headers": {uri: {"Authorization": "Bearer raw"}}}),
        **BOB,
    }
    reply = httpx.post(
        f"{server.url}/v1/tool-runtime/invoke",
        json={"tool_name": "c_header", "kwargs": {"name": "authorization"}},
        headers=raw,
    )
    assert reply.json()["content"] == [{"type": "text", "text": "Bearer raw"}]
    stored = [
        httpx.get(f"{server.url}/v1/toolgroups{path}", headers=ALICE).text for path in ("", "/mcp::shared")
    ]
    for secret in SECRETS:
        assert secret not in server.log() and all(secret not in body for body in stored)


def test_each_caller_gets_the_listing_the_server_gives_it(server: StackServer, shared_url: str) -> None:
    """The server lists ``c_vault`` to an admin's credentials only; listed first for the admin, it
    is still hidden from (and not callable by) another caller."""
    uri = f"{shared_url}/mcp"
    admin = client(server, provider_data={"mcp_headers": {uri: {"Authorization": "Bearer admin"}}})
    plain = client(server, "tok-bob")

    def names(sdk: LlamaStackClient) -> set[str]:
        return {tool.identifier for tool in sdk.tools.list(toolgroup_id="mcp::shared")}

    assert "c_vault" in names(admin)
    assert "c_vault" not in names(plain) and "c_ping" in names(plain)
    assert "c_vault" in names(admin)
    with pytest.raises(NotFoundError, match="c_vault"):
        plain.tool_runtime.invoke_tool(tool_name="c_vault", kwargs={})
    assert text(admin.tool_runtime.invoke_tool(tool_name="c_vault", kwargs={})) == "the vault"


def test_group_headers_are_sent_but_credentials_in_args_are_refused(
    server: StackServer, tools_url: str
) -> None:
    sdk = client(server)
    uri = f"{tools_url}/sse"
    with pytest.raises(Exception, match="must not carry credentials") as refused:
        sdk.toolgroups.register(
            toolgroup_id="mcp::creds",
            provider_id="mcp",
            mcp_endpoint={"uri": uri},
            args={"headers": {"X-Api-Key": "k-123"}},
        )
    assert "k-123" not in str(refused.value)
    sdk.toolgroups.register(
        toolgroup_id="mcp::tenant",
        provider_id="mcp",
        mcp_endpoint={"uri": uri},
        args={"headers": {"X-Tenant": "t-9"}},
    )
    try:
        assert text(sdk.tool_runtime.invoke_tool(tool_name="header", kwargs={"name": "x-tenant"})) == "t-9"
    finally:
        sdk.toolgroups.unregister(toolgroup_id="mcp::tenant")
