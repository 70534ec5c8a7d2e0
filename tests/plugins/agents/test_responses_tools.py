"""Responses with server tools, in-process (the scripted tool runtime, tests/support/tools_plugin.py,
serves an MCP server's tool group): two calls of one model step run concurrently, each with its own
arguments; require_approval holds a call until the next response approves it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
import tools_plugin
from responses_stack import MODEL

from stack_core import Stack, create_app
from stack_core.apis.responses import CreateResponseRequest
from stack_core.plugins import discover

MCP_URL = "http://tools.test/mcp"


def mcp(require_approval: str) -> Any:
    return {
        "type": "mcp",
        "server_label": "scripted",
        "server_url": MCP_URL,
        "require_approval": require_approval,
    }


@contextlib.asynccontextmanager
async def scripted_stack(
    backend: str, delay: float | dict[str, float]
) -> AsyncIterator[tuple[openai.AsyncOpenAI, tools_plugin.ScriptedTools, Stack]]:
    """A stack (in-process) whose MCP tool group is scripted, each call taking ``delay`` seconds."""
    group = {
        "toolgroup_id": "scripted-mcp",
        "provider_id": "scripted",
        "mcp_endpoint": {"uri": MCP_URL},
        "args": {"tools": ["echo", "describe"], "delay": delay},
    }
    config = {
        "providers": {
            "inference": [
                {"provider_id": "vllm", "provider_type": "remote::vllm", "config": {"url": f"{backend}/v1"}}
            ],
            "tool_runtime": [{"provider_id": "scripted", "provider_type": "test::tools"}],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
        "registered_resources": {"tool_groups": [group]},
    }
    app = create_app(config, plugins=discover({"tools": tools_plugin}))
    async with app.router.lifespan_context(app):
        tools = app.state.stack.api("tool_runtime").providers["scripted"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stack/v1") as http:
            client = openai.AsyncOpenAI(base_url="http://stack/v1", api_key="unused", http_client=http)
            yield client, tools, app.state.stack


@pytest.fixture
async def stack(backend: str) -> AsyncIterator[tuple[openai.AsyncOpenAI, tools_plugin.ScriptedTools]]:
    async with scripted_stack(backend, 0.5) as (client, tools, _):
        yield client, tools


async def test_two_tool_calls_of_one_step_run_concurrently_with_their_own_arguments(
    stack: tuple[openai.AsyncOpenAI, tools_plugin.ScriptedTools],
) -> None:
    client, tools = stack
    await client.responses.create(model=MODEL, input="echo and describe this", tools=[mcp("never")])
    tools.calls.clear()  # the first response warmed the stack up (tables, model and tool listings)
    started = time.perf_counter()
    response = await client.responses.create(
        model=MODEL, input="echo and describe this", tools=[mcp("never")]
    )
    elapsed = time.perf_counter() - started
    kinds = [item.type for item in response.output]
    assert kinds == ["mcp_list_tools", "mcp_call", "mcp_call", "message"], kinds
    assert elapsed < 0.95, f"two 0.5 s tools took {elapsed:.2f} s in all: not concurrent"
    calls = {name: kwargs for _, name, kwargs in tools.calls}
    assert calls["echo"] == {"text": "echo and describe this"}
    assert set(calls["describe"]) == {"point", "tags", "shape"}
    outputs = [item.output for item in response.output if item.type == "mcp_call"]
    assert outputs == [f"scripted-mcp:echo:{calls['echo']}", f"scripted-mcp:describe:{calls['describe']}"]


async def test_require_approval_holds_the_call_until_approved(
    stack: tuple[openai.AsyncOpenAI, tools_plugin.ScriptedTools],
) -> None:
    client, tools = stack
    first = await client.responses.create(model=MODEL, input="echo and describe", tools=[mcp("always")])
    requests = [item for item in first.output if item.type == "mcp_approval_request"]
    assert [r.name for r in requests] == ["echo", "describe"] and tools.calls == []
    approvals: Any = [
        {"type": "mcp_approval_response", "approval_request_id": requests[0].id, "approve": True},
        {"type": "mcp_approval_response", "approval_request_id": requests[1].id, "approve": False},
    ]
    second = await client.responses.create(
        model=MODEL, previous_response_id=first.id, input=approvals, tools=[mcp("always")]
    )
    [call] = [item for item in second.output if item.type == "mcp_call"]
    assert (call.name, call.approval_request_id) == ("echo", requests[0].id)
    assert [name for _, name, _ in tools.calls] == ["echo"]
    assert second.output_text.startswith(f"[{MODEL}] tool result:")


async def test_mcp_tool_events_stream(stack: tuple[openai.AsyncOpenAI, tools_plugin.ScriptedTools]) -> None:
    client, _ = stack
    async with client.responses.stream(
        model=MODEL, input="echo and describe", tools=[mcp("never")]
    ) as stream:
        events = [event.type async for event in stream]
        final = await stream.get_final_response()
    for expected in (
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.output_text.delta",
    ):
        assert expected in events
    assert final.output_text.startswith(f"[{MODEL}] tool result: scripted-mcp:describe:")


async def test_each_server_call_ends_in_the_stream_when_it_ends(backend: str) -> None:
    """Of two calls in one step, the quick one's ``mcp_call`` is done while the slow one runs (the
    provider's own event stream: the ASGI test transport would hand over the body only at its end)."""
    async with scripted_stack(backend, {"echo": 0.0, "describe": 1.0}) as (_, _, stack):
        responses = stack.api("responses").providers["builtin"]
        request = CreateResponseRequest(
            model=MODEL, input="echo and describe", tools=[mcp("never")], stream=True
        )
        stamps: list[tuple[str, float]] = []
        async for event in await responses.create_response(request):
            if event.type == "response.output_item.done" and event.item.type == "mcp_call":
                stamps.append((event.item.name, time.perf_counter()))
    assert [name for name, _ in stamps] == ["echo", "describe"]
    assert stamps[1][1] - stamps[0][1] > 0.8, "the quick call was reported only when the slow one ended"


async def test_an_unregistered_mcp_server_with_no_mcp_provider_is_a_400(
    stack: tuple[openai.AsyncOpenAI, tools_plugin.ScriptedTools],
) -> None:
    client, _ = stack
    tool: Any = {**mcp("never"), "server_url": "http://elsewhere.test/mcp"}
    with pytest.raises(openai.BadRequestError, match=r"remote::model-context-protocol.*POST /v1/toolgroups"):
        await client.responses.create(model=MODEL, input="echo it", tools=[tool])
