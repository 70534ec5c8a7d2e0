"""The 0.2 line's native inference routes are translated onto the OpenAI-compatible provider calls:
what the provider receives, and what the client gets back (``recorder_plugin``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import recorder_plugin
from in_process import running

from stack_core.plugins import PluginSet, discover

CONFIG = {
    "apis": ["inference"],
    "providers": {"inference": [{"provider_id": "rec", "provider_type": "inline::recorder"}]},
    "models": [
        {"model_id": "m", "provider_id": "rec", "provider_model_id": "rec-m"},
        {"model_id": "e", "provider_id": "rec", "model_type": "embedding"},
    ],
}
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def plugins() -> PluginSet:
    return discover({"recorder": recorder_plugin})


@pytest.fixture
async def client(plugins: PluginSet) -> AsyncIterator[httpx.AsyncClient]:
    recorder_plugin.RECEIVED.clear()
    async with running(CONFIG, plugins) as client:
        yield client


async def sent(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the provider received for one native request (which must succeed)."""
    reply = await client.post(f"/v1/inference/{path}", json=body)
    assert reply.status_code == 200, reply.text
    (received,) = recorder_plugin.RECEIVED[-1:]
    recorder_plugin.RECEIVED.clear()
    return received


async def test_sampling_tools_and_format_become_openai_parameters(client: httpx.AsyncClient) -> None:
    body = {
        "model_id": "m",
        "messages": HELLO,
        "sampling_params": {
            "strategy": {"type": "top_p", "temperature": 0.7, "top_p": 0.9},
            "max_tokens": 5,
            "stop": ["\n"],
            "repetition_penalty": 1.2,
        },
        "tools": [
            {
                "tool_name": "get_weather",
                "description": "Weather",
                "parameters": {
                    "city": {"param_type": "str", "description": "City"},
                    "days": {"param_type": "integer", "required": False, "default": 1},
                },
            }
        ],
        "tool_config": {"tool_choice": "get_weather", "tool_prompt_format": "json"},
        "response_format": {"type": "json_schema", "json_schema": {"type": "object"}},
        "logprobs": {"top_k": 2},
    }
    assert await sent(client, "chat-completion", body) == {
        "model": "rec-m",
        "messages": HELLO,
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 5,
        "stop": ["\n"],
        "repetition_penalty": 1.2,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "city": {"type": "string", "description": "City"},
                            "days": {"type": "integer", "default": 1},
                        },
                        "required": ["city"],
                    },
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": {"type": "object"}},
        },
        "logprobs": True,
        "top_logprobs": 2,
    }


@pytest.mark.parametrize(
    ("sampling", "expected"),
    [
        (None, {"temperature": 0.0}),
        ({"strategy": {"type": "top_k", "top_k": 5}, "max_tokens": 0}, {"top_k": 5}),
        ({"strategy": {"type": "greedy"}, "repetition_penalty": 1.0}, {"temperature": 0.0}),
    ],
)
async def test_sampling_strategies(
    client: httpx.AsyncClient, sampling: Any, expected: dict[str, Any]
) -> None:
    body = {"model_id": "m", "messages": HELLO} | ({"sampling_params": sampling} if sampling else {})
    assert await sent(client, "chat-completion", body) == {"model": "rec-m", "messages": HELLO, **expected}


async def test_messages_are_translated(client: httpx.AsyncClient) -> None:
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:"},
                {"type": "image", "image": {"url": {"uri": "https://x/cat.png"}}},
                {"type": "image", "image": {"data": "/9j/AAAA"}},
            ],
            "context": "It is a cat.",
        },
        {
            "role": "assistant",
            "content": "",
            "stop_reason": "end_of_message",
            "tool_calls": [{"call_id": "c1", "tool_name": "lookup", "arguments": {"q": "cat"}}],
        },
        {"role": "tool", "call_id": "c1", "content": "a cat"},
    ]
    received = await sent(client, "chat-completion", {"model_id": "m", "messages": messages})
    assert received["messages"] == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:"},
                {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AAAA"}},
                {"type": "text", "text": "It is a cat."},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"cat"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "a cat"},
    ]


async def test_reply_logprobs_and_metrics(client: httpx.AsyncClient) -> None:
    body = {"model_id": "m", "messages": HELLO, "logprobs": {"top_k": 2}}
    reply = (await client.post("/v1/inference/chat-completion", json=body)).json()
    assert reply == {
        "completion_message": {
            "role": "assistant",
            "content": "ok",
            "stop_reason": "end_of_turn",
            "tool_calls": [],
        },
        "logprobs": [{"logprobs_by_token": {"ok": -0.1, "no": -2.5}}],
        "metrics": [
            {"metric": "prompt_tokens", "value": 3.0, "unit": None},
            {"metric": "completion_tokens", "value": 1.0, "unit": None},
            {"metric": "total_tokens", "value": 4.0, "unit": None},
        ],
    }


async def test_a_streamed_tool_call_that_is_not_json_fails_to_parse(client: httpx.AsyncClient) -> None:
    body = {"model_id": "m", "messages": HELLO, "stream": True}
    reply = await client.post("/v1/inference/chat-completion", json=body)
    events = [orjson.loads(e.removeprefix("data: "))["event"] for e in reply.text.split("\n\n") if e]
    assert [(e["event_type"], e["delta"]) for e in events[:-1]] == [
        ("start", {"type": "text", "text": ""}),
        ("progress", {"type": "text", "text": "ok"}),
        ("progress", {"type": "tool_call", "tool_call": "", "parse_status": "started"}),
        ("progress", {"type": "tool_call", "tool_call": "oops", "parse_status": "in_progress"}),
        ("progress", {"type": "tool_call", "tool_call": "oops", "parse_status": "failed"}),
    ]
    assert (events[-1]["event_type"], events[-1]["stop_reason"]) == ("complete", "end_of_message")


async def test_completion_and_its_logprobs(client: httpx.AsyncClient) -> None:
    body = {"model_id": "m", "content": [{"type": "text", "text": "Once"}], "logprobs": {"top_k": 1}}
    assert await sent(client, "completion", body) == {
        "model": "rec-m",
        "prompt": "Once",
        "temperature": 0.0,
        "logprobs": 1,
    }
    reply = (await client.post("/v1/inference/completion", json=body)).json()
    assert (reply["content"], reply["stop_reason"]) == ("ok", "out_of_tokens")
    assert reply["logprobs"] == [{"logprobs_by_token": {"ok": -0.5}}]


async def test_embeddings_send_text_and_dimensions(client: httpx.AsyncClient) -> None:
    body = {"model_id": "e", "contents": ["a", "b"], "output_dimension": 2, "text_truncation": "end"}
    assert await sent(client, "embeddings", body) == {"model": "e", "input": ["a", "b"], "dimensions": 2}
    reply = (await client.post("/v1/inference/embeddings", json=body)).json()
    assert reply == {"embeddings": [[0.0, 1.0], [1.0, 1.0]]}


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            "embeddings",
            {"model_id": "e", "contents": [{"type": "image", "image": {"data": "AA"}}]},
            "contents.0",
        ),
        ("completion", {"model_id": "m", "content": {"type": "image", "image": {"data": "AA"}}}, "content"),
        (
            "chat-completion",
            {
                "model_id": "m",
                "messages": [{"role": "system", "content": {"type": "image", "image": {"data": "A"}}}],
            },
            "messages.0.content",
        ),
        (
            "batch-completion",
            {"model_id": "m", "content_batch": ["x", {"type": "image", "image": {"data": "A"}}]},
            "content_batch.1",
        ),
        ("chat-completion", {"model_id": "nope", "messages": HELLO}, "model_id"),
    ],
)
async def test_what_cannot_be_translated_is_refused_naming_the_field(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], param: str
) -> None:
    reply = await client.post(f"/v1/inference/{path}", json=body)
    assert reply.status_code in (400, 404) and reply.json()["error"]["param"] == param
    assert recorder_plugin.RECEIVED == []
