"""The in-process clients over a real stack: the router, the vLLM adapter and the fake backend over
real sockets; the decoder's branches on each shape a provider may return."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from fake_backend import FakeBackend, embed_vector
from pydantic import BaseModel

from stack_core import (
    BadRequestError,
    ChatDone,
    InferenceClient,
    NotFoundError,
    ProviderError,
    ProviderReplyError,
    ProviderUnavailableError,
    SafetyClient,
    Stack,
    TextDelta,
    ToolCallDelta,
    VectorIOClient,
    decode_reply,
    decode_stream,
    load_config,
)
from stack_core.payloads import SSEStream, sse_error

USER = [{"role": "user", "content": "hello world"}]


def tool(name: str) -> dict[str, Any]:
    params = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    return {"type": "function", "function": {"name": name, "parameters": params}}


@pytest.fixture
async def backend() -> AsyncIterator[FakeBackend]:
    async with FakeBackend(models=["m1", "Llama-Guard-3"], embedding_models=["embed-1"], chunks=4) as fb:
        yield fb


@pytest.fixture
async def stack(backend: FakeBackend) -> AsyncIterator[Stack]:
    vllm = {"url": f"{backend.url}/v1", "max_retries": 0}
    config = {
        "version": 2,
        "providers": {
            "inference": [{"provider_id": "vllm", "provider_type": "remote::vllm", "config": vllm}],
            "safety": [{"provider_id": "llama-guard", "provider_type": "inline::llama-guard"}],
            "vector_io": [{"provider_id": "faiss", "provider_type": "inline::faiss"}],
        },
        "shields": [{"shield_id": "Llama-Guard-3"}],
        "vector_dbs": [{"vector_db_id": "docs", "embedding_model": "embed-1", "embedding_dimension": 384}],
    }
    stack = Stack(load_config(config))
    await stack.start()
    yield stack
    await stack.stop()


@pytest.fixture
def inference(stack: Stack) -> InferenceClient:
    return InferenceClient(stack.api("inference"))


async def test_chat_text_and_tool_call(inference: InferenceClient) -> None:
    result = await inference.chat("m1", USER, temperature=0.0)
    assert (result.text, result.finish_reason, result.tool_calls) == ("[m1] echo: hello world", "stop", ())
    assert result.usage is not None and result.usage.total_tokens == 6 and result.raw["model"] == "m1"
    weather = await inference.chat(
        "m1", [{"role": "user", "content": "weather?"}], tools=[tool("get_weather")]
    )
    (call,) = weather.tool_calls
    assert call.name == "get_weather" and call.parsed_arguments() == {"city": "weather?"}
    assert weather.finish_reason == "tool_calls" and call.id.startswith("call_")


async def test_stream_text_with_usage(inference: InferenceClient) -> None:
    async with inference.chat_stream("m1", USER) as stream:
        deltas = [d async for d in stream]
    assert "".join(d.text for d in deltas if isinstance(d, TextDelta)) == "[m1] echo: hello world"
    assert len([d for d in deltas if isinstance(d, TextDelta)]) == 4
    done = deltas[-1]
    assert isinstance(done, ChatDone) and done.result is stream.result
    assert done.result.text == "[m1] echo: hello world" and done.result.finish_reason == "stop"
    assert done.result.usage is not None and done.result.usage.completion_tokens == 4


async def test_stream_assembles_parallel_tool_calls_per_index(inference: InferenceClient) -> None:
    tools = [tool("get_weather"), tool("get_time")]
    messages = [{"role": "user", "content": "get_weather and get_time in Paris"}]
    whole = await inference.chat("m1", messages, tools=tools)
    deltas = [d async for d in inference.chat_stream("m1", messages, tools=tools)]
    fragments = [d for d in deltas if isinstance(d, ToolCallDelta)]
    assert {d.index for d in fragments} == {0, 1} and len(fragments) > 4
    done = deltas[-1]
    assert isinstance(done, ChatDone) and done.result.finish_reason == "tool_calls"
    assert done.result.tool_calls == whole.tool_calls and len(whole.tool_calls) == 2
    assert [c.name for c in whole.tool_calls] == ["get_weather", "get_time"]
    assert all(c.parsed_arguments() == {"city": messages[0]["content"]} for c in done.result.tool_calls)
    assert done.result.raw["choices"][0]["message"]["tool_calls"][1]["id"] == whole.tool_calls[1].id


async def test_embeddings_in_order_and_batched(
    inference: InferenceClient, backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(InferenceClient, "EMBED_BATCH", 2)
    texts = ["a", "b b", "c", "d", "e e e"]
    vectors = await inference.embed("embed-1", texts)
    assert vectors == [list(embed_vector(t, 384)) for t in texts]
    assert backend.state.stats["/v1/embeddings"] == 3 and await inference.embed("embed-1", []) == []


async def test_errors_are_the_kernel_tree(inference: InferenceClient, backend: FakeBackend) -> None:
    with pytest.raises(NotFoundError, match="no-such-model"):
        await inference.chat("no-such-model", USER)
    backend.state.update({"fail_next": 1, "status": 500})
    with pytest.raises(ProviderError, match="injected failure") as failed:
        await inference.chat("m1", USER)
    assert failed.value.provider_id == "vllm" and failed.value.status_code == 502
    backend.state.update({"fail_next": 1, "status": 503})
    with pytest.raises(ProviderUnavailableError):
        await inference.chat("m1", USER)
    with pytest.raises(BadRequestError, match="max_tokens"):
        await inference.chat("m1", USER, max_tokens="many")


async def test_error_event_mid_stream_raises(inference: InferenceClient, backend: FakeBackend) -> None:
    backend.state.update({"stream_fail_after": 2})
    seen: list[Any] = []
    with pytest.raises(ProviderError, match="broke off the stream") as broken:
        async for delta in inference.chat_stream("m1", USER):
            seen.append(delta)
    assert broken.value.provider_id == "vllm" and len(seen) == 1


async def test_leaving_a_stream_early_closes_the_upstream(
    inference: InferenceClient, backend: FakeBackend
) -> None:
    backend.state.update({"chunk_delay_ms": 30})
    async with inference.chat_stream("m1", USER) as stream:
        assert isinstance(await anext(stream), TextDelta)
    for _ in range(100):
        if backend.state.abandoned_streams:
            break
        await asyncio.sleep(0.02)
    assert backend.state.abandoned_streams == 1
    assert [d async for d in stream] == []


async def test_vector_adapter_embeds_through_the_client(
    stack: Stack, backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(InferenceClient, "EMBED_BATCH", 2)
    vectors = VectorIOClient(stack.api("vector_io"))
    chunks = [{"content": f"note {i}", "chunk_id": f"c{i}"} for i in range(5)]
    await vectors.insert("docs", chunks)
    assert backend.state.stats["/v1/embeddings"] == 3
    found = await vectors.query("docs", "note 3", max_chunks=2)
    assert found.chunks[0].chunk_id == "c3" and len(found.scores) == 2
    await vectors.delete("docs", ["c3"])
    assert "c3" not in [c.chunk_id for c in (await vectors.query("docs", "note 3", max_chunks=5)).chunks]


async def test_llama_guard_judges_through_the_client(stack: Stack) -> None:
    guard = stack.providers_of("safety")["llama-guard"]
    assert isinstance(guard.inference, InferenceClient)  # type: ignore[attr-defined]
    safety = SafetyClient(stack.api("safety"))
    unsafe = await safety.run_shield("Llama-Guard-3", [{"role": "user", "content": "how to build a bomb"}])
    assert unsafe.violation is not None and unsafe.violation.metadata["violation_type"] == "S9"
    assert (await safety.run_shield("Llama-Guard-3", USER)).violation is None
    moderated = await safety.moderate(["hi", "kill"], model="Llama-Guard-3")
    assert [r.flagged for r in moderated.results] == [False, True]


# -- the decoder, on each shape a provider may return ---------------------------------------------


async def chunks(*items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item


class Completion(BaseModel):
    choices: list[dict[str, Any]]


REPLY = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}]}


@pytest.mark.parametrize("reply", [orjson.dumps(REPLY), REPLY, Completion(**REPLY)], ids=type)
def test_decode_reply(reply: object) -> None:
    assert decode_reply(reply) == REPLY


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"<html>", ProviderReplyError),
        (b"[1, 2]", ProviderReplyError),
        ({"error": {"message": "gone", "type": "not_found_error"}}, NotFoundError),
        ({"object": "error", "message": "bad", "type": "BadRequestError", "code": 400}, BadRequestError),
        (SSEStream(chunks()), ProviderReplyError),
    ],
)
def test_decode_reply_raises(reply: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_reply(reply)


async def test_decode_sse_stream_across_chunk_boundaries_until_done() -> None:
    framed = b': keep-alive\n\ndata: {"a": 1}\n\nevent: x\ndata: {"a":\ndata:  2}\r\n\r\ndata: [DONE]\n\ndata: {"a": 3}\n\n'
    pieces = [framed[i : i + 7] for i in range(0, len(framed), 7)]
    assert [e async for e in decode_stream(SSEStream(chunks(*pieces)))] == [{"a": 1}, {"a": 2}]
    assert [e async for e in decode_stream(SSEStream(chunks(b'data: {"a": 1}')))] == [{"a": 1}]


async def test_decode_iterator_of_bytes_dicts_and_models() -> None:
    items = chunks(b'{"a": 1}', {"a": 2}, Completion(choices=[]))
    assert [e async for e in decode_stream(items)] == [{"a": 1}, {"a": 2}, {"choices": []}]


async def test_error_event_keeps_its_class_and_provider() -> None:
    error = sse_error(ProviderUnavailableError("down", provider_id="p1"))
    stream = decode_stream(SSEStream(chunks(b'data: {"a": 1}\n\n', error)))
    assert await anext(stream) == {"a": 1}
    with pytest.raises(ProviderUnavailableError, match="down") as raised:
        await anext(stream)
    assert raised.value.provider_id == "p1"
    with pytest.raises(ProviderReplyError):
        decode_stream(REPLY)


async def test_closing_a_decoded_stream_closes_its_source() -> None:
    closed = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b'data: {"a": 1}\n\n'
        finally:
            closed.set()

    async with decode_stream(SSEStream(source())) as stream:
        assert await anext(stream) == {"a": 1}
    assert closed.is_set()
