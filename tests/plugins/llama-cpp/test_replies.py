"""OpenAI shapes of a generation's events: the streamed chunks add up to the whole reply."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from stack_provider_llama_cpp.engine import Event, Finished, Text
from stack_provider_llama_cpp.plan import ToolCallPlan
from stack_provider_llama_cpp.replies import ChatShape, CompletionShape


async def events(*texts: str, reason: str = "stop") -> AsyncIterator[Event]:
    for text in texts:
        yield Text(text)
    yield Finished(reason, prompt_tokens=10, completion_tokens=len(texts))


async def chunks(shape: ChatShape, *texts: str) -> list[dict[str, Any]]:
    return [c async for c in shape.chunks(events(*texts), include_usage=True)]


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


async def test_chat_text_whole_and_streamed() -> None:
    whole = await ChatShape("m", None).whole(events("Hel", "lo"))
    assert whole["choices"][0]["message"] == {"role": "assistant", "content": "Hello"}
    assert whole["usage"] == {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
    streamed = await chunks(ChatShape("m", None), "Hel", "lo")
    assert "".join(d.get("content") or "" for d in deltas(streamed)) == "Hello"
    assert streamed[-2]["choices"][0]["finish_reason"] == "stop"
    assert streamed[-1]["choices"] == [] and streamed[-1]["usage"]["total_tokens"] == 12
    assert {(c["id"], c["object"]) for c in streamed} == {(streamed[0]["id"], "chat.completion.chunk")}


async def test_a_named_call_streams_its_arguments_as_they_come() -> None:
    whole = await ChatShape("m", ToolCallPlan("get_weather")).whole(events('{"city": ', '"Paris"}'))
    choice = whole["choices"][0]
    call = choice["message"]["tool_calls"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    calls = [
        d["tool_calls"][0]
        for d in deltas(await chunks(ChatShape("m", ToolCallPlan("get_weather")), '{"city": ', '"Paris"}'))
        if "tool_calls" in d
    ]
    assert calls[0]["function"]["name"] == "get_weather" and calls[0]["id"].startswith("call_")
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {"city": "Paris"}


async def test_a_picked_call_is_sent_whole_once_parsed() -> None:
    text = '{"name": "get_time", "arguments": {"zone": "UTC"}}'
    streamed = deltas(await chunks(ChatShape("m", ToolCallPlan(None)), text[:20], text[20:]))
    (call,) = [d["tool_calls"][0] for d in streamed if "tool_calls" in d]
    assert call["function"] == {"name": "get_time", "arguments": '{"zone": "UTC"}'}


async def test_a_call_cut_by_max_tokens_is_text_with_finish_reason_length() -> None:
    whole = await ChatShape("m", ToolCallPlan(None)).whole(events('{"name": "get_', reason="length"))
    assert whole["choices"][0]["message"]["content"] == '{"name": "get_'
    assert whole["choices"][0]["finish_reason"] == "length"


async def test_text_completion_shapes() -> None:
    whole = await CompletionShape("m").whole(events("a", "b", reason="length"))
    assert whole["object"] == "text_completion" and whole["choices"][0]["text"] == "ab"
    streamed = [c async for c in CompletionShape("m").chunks(events("a", "b"), include_usage=False)]
    assert [c["choices"][0]["text"] for c in streamed] == ["a", "b", ""]
    assert streamed[-1]["choices"][0]["finish_reason"] == "stop" and "usage" not in streamed[-1]
