"""The MCP provider in-process against real FastMCP servers: sessions pooled per endpoint and
identity, reconnected, closed; results mapped; registration checked without connecting."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from mcp_servers import mcp_server, mcp_server_process
from stack_provider_mcp.adapter import McpToolRuntime
from stack_provider_mcp.config import McpConfig
from users import as_user

from stack_core import (
    BadRequestError,
    McpEndpoint,
    ProviderError,
    ProviderTimeoutError,
    ToolGroup,
    ToolInvocation,
    ToolInvocationResult,
    User,
    provider_data,
)
from stack_core.testing import free_port

pytestmark = pytest.mark.integration
WIRES = ["sse", "mcp"]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with mcp_server() as url:
        yield url


@pytest.fixture
async def runtime() -> AsyncIterator[McpToolRuntime]:
    # generous: a call that timed out on a loaded machine would open a second session
    runtime = McpToolRuntime(McpConfig(timeout_s=20, connect_timeout_s=20), "mcp")
    yield runtime
    await runtime.shutdown()


def group(uri: str, **args: Any) -> ToolGroup:
    return ToolGroup(
        identifier="mcp::t", provider_id="mcp", mcp_endpoint=McpEndpoint(uri=uri), args=args or None
    )


async def call(runtime: McpToolRuntime, where: ToolGroup, tool: str, **kwargs: Any) -> ToolInvocationResult:
    return await runtime.invoke_tool(ToolInvocation(where, tool, kwargs))


def sessions(url: str) -> int:
    count: int = httpx.get(f"{url}/stats").json()["sessions"]
    return count


@contextmanager
def headers_for(uri: str, **headers: str) -> Iterator[None]:
    token = provider_data.set(json.dumps({"mcp_headers": {uri: headers}}))
    try:
        yield
    finally:
        provider_data.reset(token)


@pytest.mark.parametrize("wire", WIRES)
async def test_calls_share_one_session_per_endpoint_and_identity(
    runtime: McpToolRuntime, url: str, wire: str
) -> None:
    uri = f"{url}/{wire}"
    before = sessions(url)
    await asyncio.gather(*(call(runtime, group(uri), "ping") for _ in range(4)))
    await call(runtime, group(uri), "ping")
    assert sessions(url) - before == 1 and len(runtime.pool) == 1
    seen = {}
    for token, name in (
        ("Bearer one", "Authorization"),
        ("Bearer two", "authorization"),
        ("Bearer one", "AUTHORIZATION"),
    ):
        with headers_for(uri, **{name: token}):
            await call(runtime, group(uri), "ping")
            seen[token] = (await call(runtime, group(uri), "header", name="authorization")).content
    assert seen == {t: [{"type": "text", "text": t}] for t in ("Bearer one", "Bearer two")}
    for principal in ("alice", "bob", "alice"):
        with as_user(User(principal=principal)):
            await call(runtime, group(uri), "ping")
    assert sessions(url) - before == 5 and len(runtime.pool) == 5


async def test_results_keep_text_images_resources_structure_and_errors(
    runtime: McpToolRuntime, url: str
) -> None:
    where = group(f"{url}/mcp")
    distance = await call(runtime, where, "distance", a={"x": 0, "y": 0}, b={"x": 3, "y": 4})
    assert distance.content == [{"type": "text", "text": "5.0"}]
    assert distance.metadata == {"structured_content": {"result": 5.0}}
    pixel = await call(runtime, where, "pixel")
    assert isinstance(pixel.content, list) and pixel.content[0]["type"] == "image"
    assert pixel.content[0]["image"]["data"].startswith("iVBOR")
    document = await call(runtime, where, "document")
    assert document.content == [{"type": "text", "text": "see"}, {"type": "text", "text": "the notes"}]
    failed = await call(runtime, where, "explode", reason="on purpose")
    assert (
        failed.error_code == 1
        and failed.error_message == "Error executing tool explode: exploded: on purpose"
    )
    unknown = await call(runtime, where, "teleport")
    assert unknown.error_code == 1 and unknown.error_message == "Unknown tool: teleport"
    invalid = await call(runtime, where, "join", items=3)
    assert invalid.error_code == 1 and "valid list" in str(invalid.error_message)


async def test_listing_keeps_schemas_and_metadata(runtime: McpToolRuntime, url: str) -> None:
    tools = {t.name: t for t in await runtime.list_runtime_tools(group(f"{url}/sse"))}
    assert tools["distance"].input_schema["properties"] == {
        "a": {"$ref": "#/$defs/Point"},
        "b": {"$ref": "#/$defs/Point"},
    }
    assert tools["ping"].input_schema == {"properties": {}, "title": "pingArguments", "type": "object"}
    assert tools["ping"].metadata == {"title": "Ping", "annotations": {"readOnlyHint": True}}
    assert tools["join"].output_schema is not None and tools["pixel"].output_schema is None


@pytest.mark.parametrize("path", ["events", "rpc"])
async def test_a_path_naming_no_transport_finds_the_one_served(
    runtime: McpToolRuntime, url: str, path: str
) -> None:
    """``/events`` only serves SSE, ``/rpc`` only streamable HTTP."""
    result = await call(runtime, group(f"{url}/{path}"), "join", items=["a", "b"])
    assert result.content == [{"type": "text", "text": "a,b"}]
    forced = group(f"{url}/{path}", transport="sse" if path == "rpc" else "streamable_http")
    with pytest.raises(ProviderError, match="HTTP 40"):
        await call(runtime, forced, "ping")


@pytest.mark.parametrize("wire", WIRES)
async def test_a_restarted_server_is_reconnected(wire: str) -> None:
    port = free_port()
    runtime = McpToolRuntime(McpConfig(timeout_s=5), "mcp")
    try:
        with mcp_server(port) as url:
            assert (await call(runtime, group(f"{url}/{wire}"), "ping")).content
        with mcp_server(port) as url:
            again = await call(runtime, group(f"{url}/{wire}"), "ping")
            assert again.content == [{"type": "text", "text": "pong"}] and sessions(url) == 1
    finally:
        await runtime.shutdown()


@pytest.mark.parametrize("wire", WIRES)
async def test_a_server_dying_mid_call_fails_the_call_at_once_not_at_the_timeout(wire: str) -> None:
    runtime = McpToolRuntime(McpConfig(timeout_s=20), "mcp")
    try:
        with mcp_server_process() as (url, process):
            where = group(f"{url}/{wire}")
            await call(runtime, where, "ping")
            slow = asyncio.create_task(call(runtime, where, "slow", seconds=30))
            await asyncio.sleep(0.5)
            process.kill()
            began = time.monotonic()
            with pytest.raises(ProviderError, match=f"'mcp::t' at {url}/{wire} failed"):
                await slow
            assert time.monotonic() - began < 3 and len(runtime.pool) == 0
    finally:
        await runtime.shutdown()


async def test_idle_sessions_close_and_unregister_and_shutdown_close_the_rest(url: str) -> None:
    runtime = McpToolRuntime(McpConfig(idle_timeout_s=0.3), "mcp")
    await call(runtime, group(f"{url}/mcp"), "ping")
    await asyncio.sleep(0.8)
    assert len(runtime.pool) == 0
    for wire in WIRES:
        await call(runtime, group(f"{url}/{wire}"), "ping")
    await runtime.unregister_tool_group(group(f"{url}/sse"))
    assert len(runtime.pool) == 1
    await runtime.shutdown()
    assert len(runtime.pool) == 0


@pytest.mark.parametrize("wire", WIRES)
async def test_a_slow_tool_times_out_and_leaves_the_session_usable(url: str, wire: str) -> None:
    runtime = McpToolRuntime(McpConfig(timeout_s=2), "mcp")
    where = group(f"{url}/{wire}")
    try:
        await call(runtime, where, "ping")
        began = time.monotonic()
        with pytest.raises(ProviderTimeoutError, match=f"'mcp::t' at {url}/{wire}"):
            await call(runtime, where, "slow", seconds=30)
        assert 2 <= time.monotonic() - began < 6
        assert (await call(runtime, where, "ping")).content and len(runtime.pool) == 1
    finally:
        await runtime.shutdown()


@pytest.mark.parametrize("wire", [*WIRES, "other"])
async def test_a_server_that_is_down_is_a_502_naming_group_and_endpoint(
    runtime: McpToolRuntime, wire: str
) -> None:
    uri = f"http://127.0.0.1:{free_port()}/{wire}"
    began = time.monotonic()
    with pytest.raises(ProviderError, match=f"'mcp::t' at {uri} failed") as caught:
        await runtime.list_runtime_tools(group(uri))
    assert caught.value.status_code == 502 and time.monotonic() - began < 1.5


async def test_a_server_that_never_answers_is_a_504_within_the_connect_timeout() -> None:
    runtime = McpToolRuntime(McpConfig(connect_timeout_s=0.5), "mcp")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}/mcp"
        began = time.monotonic()
        with pytest.raises(ProviderTimeoutError):
            await call(runtime, group(uri), "ping")
        assert time.monotonic() - began < 1.5 and len(runtime.pool) == 0
    await runtime.shutdown()


async def test_registration_checks_the_group_without_connecting(runtime: McpToolRuntime) -> None:
    down = f"http://127.0.0.1:{free_port()}/sse"
    assert await runtime.register_tool_group(group(down, transport="sse", headers={"X-Tenant": "t"})) is None
    bad = [
        (ToolGroup(identifier="mcp::t", provider_id="mcp"), "needs mcp_endpoint"),
        (group("ftp://host/sse"), "needs mcp_endpoint"),
        (group(down, transport="websocket"), "args.transport"),
        (group(down, color="red"), "color"),
        (group(down, headers={"Authorization": "Bearer secret-value"}), "must not carry credentials"),
    ]
    for wrong, message in bad:
        with pytest.raises(BadRequestError, match=message) as caught:
            await runtime.register_tool_group(wrong)
        assert "secret-value" not in caught.value.message
    assert len(runtime.pool) == 0
