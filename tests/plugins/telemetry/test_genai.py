"""The provider-call observer on its own: a stream split anywhere is read whole, a plain reply's
usage is read without parsing it all, and a failed call is recorded as such."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from stack_provider_telemetry.genai import traced
from stack_provider_telemetry.runtime import RequestScope, Telemetry

from stack_core import ProviderCall, ProviderUnavailableError, SSEStream, TelemetryConfig

CHUNKS = [
    {"model": "m1-served", "choices": [{"delta": {"content": "hi"}, "finish_reason": None}], "usage": None},
    {"model": "m1-served", "choices": [{"delta": {}, "finish_reason": "length"}], "usage": None},
    {
        "model": "m1-served",
        "choices": [],
        "usage": {"prompt_tokens": 7, "completion_tokens": 11, "total_tokens": 18},
    },
]


def runtime() -> Telemetry:
    return Telemetry(TelemetryConfig(), sinks={}, providers={"fake": "vllm"})


def value(telemetry: Telemetry, name: str, **labels: str) -> float:
    found = telemetry.instruments.registry.get_sample_value(name, labels)
    return found or 0.0


def call(result: object, method: str = "openai_chat_completion") -> ProviderCall:
    async def invoke() -> object:
        if isinstance(result, Exception):
            raise result
        return result

    return ProviderCall("inference", method, "fake", None, {"model": "m1"}, invoke)


async def split(data: bytes, size: int) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
async def test_a_framed_stream_split_anywhere_is_read_whole(size: int) -> None:
    telemetry, fields = runtime(), {}
    body = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in CHUNKS) + b"data: [DONE]\n\n"
    stream = SSEStream(split(body, size))
    made = call(stream)
    relayed = await traced(RequestScope(telemetry, fields), made, made.invoke())
    assert b"".join([c async for c in relayed.chunks]) == body
    labels = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "vllm", "gen_ai_request_model": "m1"}
    assert value(telemetry, "gen_ai_client_token_usage_sum", gen_ai_token_type="input", **labels) == 7
    assert value(telemetry, "gen_ai_client_token_usage_sum", gen_ai_token_type="output", **labels) == 11
    assert value(telemetry, "gen_ai_client_operation_time_to_first_chunk_seconds_count", **labels) == 1
    assert fields == {"model": "m1", "input_tokens": 7, "output_tokens": 11}


async def test_a_plain_reply_and_a_failed_call() -> None:
    telemetry, fields = runtime(), {}
    reply = orjson.dumps(
        {"model": "m1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    )
    made = call(reply)
    assert await traced(RequestScope(telemetry, fields), made, made.invoke()) == reply
    failed = call(ProviderUnavailableError("down", provider_id="fake"))
    with pytest.raises(ProviderUnavailableError):
        await traced(RequestScope(telemetry, fields), failed, failed.invoke())
    assert fields["input_tokens"] == 3 and fields["output_tokens"] == 4
    labels = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "vllm", "gen_ai_request_model": "m1"}
    failures = value(
        telemetry,
        "gen_ai_client_operation_duration_seconds_count",
        error_type="ProviderUnavailableError",
        **labels,
    )
    assert failures == 1
    assert value(telemetry, "stack_provider_up", api="inference", provider_id="fake") == 0
