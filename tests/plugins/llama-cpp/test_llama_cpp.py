"""inline::llama-cpp with the real SmolLM2-135M-Instruct, served by `stack run` with no config,
driven by the openai SDK."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from collections.abc import Iterator
from typing import Any, cast

import httpx
import jsonschema
import openai
import pytest
from stack_provider_llama_cpp.models import bundled_model

from stack_core.testing import (
    ChatConformance,
    CompletionsConformance,
    StackServer,
    StructuredOutputConformance,
    Target,
    ToolsConformance,
)
from stack_core.testing.inference import WEATHER_TOOL

MODEL = "SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    """``stack run`` with no config and only this plugin: the bundled model, one slot, once loaded
    (at most 600 tokens for requests that name no max_tokens: the suites' prompts end sooner)."""
    home = str(tmp_path_factory.mktemp("home"))
    env = {"STACK_HOME": home, "STACK_PLUGINS": "llama-cpp", "LLAMA_CPP_MAX_TOKENS": "600"}
    with StackServer(None, env=env) as server:
        deadline = time.monotonic() + 120
        while httpx.get(f"{server.url}/v1/health/ready", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        yield server


@pytest.fixture
def client(server: StackServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=300) as client:
        yield client


def ask(client: openai.OpenAI, question: str, **options: Any) -> str:
    messages = [{"role": "user", "content": question}]
    reply = client.chat.completions.create(model=MODEL, messages=messages, **options)  # type: ignore[arg-type]
    return reply.choices[0].message.content or ""


def health(server: StackServer) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(f"{server.url}/v1/providers/llama-cpp").json()["health"]
    return result


class TestLlamaCppConformance(
    ChatConformance, ToolsConformance, CompletionsConformance, StructuredOutputConformance
):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return Target(url=server.url, chat_model=MODEL)

    async def test_json_object_response_format(self, client: httpx.AsyncClient, target: Target) -> None:
        """The suite's check at temperature 0, on a prompt this model finishes: asked for "a JSON
        object describing a cat" at the default temperature, SmolLM2-135M loops inside the object
        until max_tokens in about 3 runs of 10 (measured), so the reply is cut (finish_reason
        length), not invalid: the grammar holds. Even at temperature 0 whether it loops depends on
        the build (a native build looped on "describing a cat named Tom", the portable one did
        not): this prompt, naming the keys, ends in both."""
        body = {
            "model": MODEL,
            "messages": [
                {
                    "role": "user",
                    "content": "Reply with a JSON object with the keys name and age of a cat named Tom.",
                }
            ],
            "response_format": {"type": "json_object"},
            "temperature": 0,
        }
        reply = (await client.post("/v1/chat/completions", json=body)).json()
        assert isinstance(json.loads(reply["choices"][0]["message"]["content"]), dict)

    async def test_n_and_logprobs_pass_through(self, client: httpx.AsyncClient, target: Target) -> None:
        """Not served here: one choice per request, no logprobs; refused with a 400 naming each."""
        body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
        for field, value in (("n", 2), ("logprobs", True)):
            reply = await client.post("/v1/chat/completions", json={**body, field: value})
            assert reply.status_code == 400 and reply.json()["error"]["param"] == field


def test_chat_answers_and_streams_the_same_text_with_usage(
    client: openai.OpenAI, server: StackServer
) -> None:
    question = "What is the capital of Germany?"
    answer = ask(client, question, temperature=0, max_tokens=24)
    assert "Berlin" in answer
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": question}],
        temperature=0,
        max_tokens=24,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 5
    assert chunks[-1].usage.completion_tokens >= 1
    assert health(server)["tokens_per_s"] > 0


def test_temperature_zero_is_byte_identical_and_a_seed_repeats(client: openai.OpenAI) -> None:
    question = "Write one sentence about the sea."
    assert len({ask(client, question, temperature=0, max_tokens=32) for _ in range(3)}) == 1
    seeded = [ask(client, question, temperature=0.9, seed=7, max_tokens=32) for _ in range(2)]
    assert seeded[0] == seeded[1]


def test_stop_and_max_tokens(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Count from 1 to 20."}],
        temperature=0,
        max_tokens=4,
    )
    assert reply.choices[0].finish_reason == "length" and reply.usage and reply.usage.completion_tokens == 4
    full = ask(client, "Count from 1 to 20, separated by commas.", temperature=0, max_tokens=40)
    assert "5" in full
    stopped = ask(
        client, "Count from 1 to 20, separated by commas.", temperature=0, max_tokens=40, stop=["5"]
    )
    assert stopped == full[: full.index("5")]


def test_json_schema_response_parses_and_validates(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 30}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Describe a person called Ada, aged 36, as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
        temperature=0,
        max_tokens=80,
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), schema)


def test_a_tool_call_to_the_named_function(client: openai.OpenAI) -> None:
    other = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[other, WEATHER_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0,
        max_tokens=60,
    )
    choice = reply.choices[0]
    (call,) = choice.message.tool_calls or []
    assert choice.finish_reason == "tool_calls" and call.function.name == "get_weather"  # type: ignore[union-attr]
    assert isinstance(json.loads(call.function.arguments)["city"], str)  # type: ignore[union-attr]


CAPITALS = ["France", "Germany", "Italy", "Spain", "Japan", "Egypt", "Canada", "Peru"]


def test_eight_concurrent_streams_each_get_their_own_text(client: openai.OpenAI, server: StackServer) -> None:
    """Each streamed answer equals the same question answered alone (temperature 0)."""
    questions = [f"What is the capital of {country}?" for country in CAPITALS]
    alone = [ask(client, q, temperature=0, max_tokens=16) for q in questions]
    assert len(set(alone)) == len(alone)

    async def stream(sdk: openai.AsyncOpenAI, question: str) -> str:
        chunks = await sdk.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": question}],
            temperature=0,
            max_tokens=16,
            stream=True,
        )
        return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])

    async def together() -> list[str]:
        sdk = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=300)
        async with sdk:
            return list(await asyncio.gather(*(stream(sdk, q) for q in questions)))

    assert asyncio.run(together()) == alone


def test_a_client_leaving_mid_stream_frees_its_slot(client: openai.OpenAI, server: StackServer) -> None:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Write a very long story about a dragon."}],
        "max_tokens": 1800,
        "stream": True,
    }
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=60) as response:
        lines = response.iter_lines()
        assert [next(lines) for _ in range(6)]  # generating
        assert health(server)["busy"] == 1
    deadline = time.monotonic() + 5
    while health(server)["busy"]:
        assert time.monotonic() < deadline, "the generation went on after the client left"
        time.sleep(0.05)
    started = time.monotonic()
    assert ask(client, "Say hi.", max_tokens=3)
    assert time.monotonic() - started < 10


def test_a_prompt_over_the_context_window_is_a_400_naming_the_limit(client: openai.OpenAI) -> None:
    long = "Tell me about the sea. " * 600
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": long}], stream=stream
            )
        assert "context window is 2048 tokens" in str(refused.value)
        assert refused.value.code == "context_length_exceeded"


def test_generation_stops_at_the_end_of_the_context_window(client: openai.OpenAI) -> None:
    counting = ", ".join(str(i) for i in range(1, 420)) + ","  # about 1990 tokens; it goes on counting
    reply = client.completions.create(model=MODEL, prompt=counting, temperature=0, max_tokens=500)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and 2000 < reply.usage.total_tokens <= 2048


def test_a_chat_model_does_not_embed_and_non_gguf_models_are_refused(
    client: openai.OpenAI, server: StackServer
) -> None:
    with pytest.raises(openai.BadRequestError, match="is a chat model: register a GGUF"):
        client.embeddings.create(model=MODEL, input="hi")
    body = {"model_id": "x", "provider_id": "llama-cpp", "provider_model_id": "/nope/model.bin"}
    for kind in ("llm", "embedding"):
        refused = httpx.post(f"{server.url}/v1/models", json={**body, "model_type": kind})
        assert refused.status_code == 400 and "not a GGUF file" in refused.text


def test_a_gguf_registered_for_embeddings_embeds(client: openai.OpenAI, server: StackServer) -> None:
    """The bundled GGUF registered a second time, as an embedding model (no pooling in its metadata:
    the mean of its token vectors): unit vectors of its width, the same for the same text."""
    path = str(bundled_model())
    body = {"model_id": "smol-embed", "provider_id": "llama-cpp", "provider_model_id": path}
    made = httpx.post(f"{server.url}/v1/models", json={**body, "model_type": "embedding"})
    assert made.status_code == 200, made.text
    assert made.json()["metadata"]["embedding_dimension"] == 576
    texts = ["The cat sat on the mat.", "Stock markets fell sharply today.", "The cat sat on the mat."]
    reply = client.embeddings.create(model="smol-embed", input=texts)
    vectors = [item.embedding for item in reply.data]
    assert [len(v) for v in vectors] == [576] * 3 and vectors[0] == vectors[2] != vectors[1]
    assert all(abs(sum(x * x for x in v) - 1) < 1e-4 for v in vectors)
    assert reply.usage.prompt_tokens > 10
    packed = client.embeddings.create(model="smol-embed", input=texts[0], encoding_format="base64")
    floats = struct.unpack("<576f", base64.b64decode(cast(str, packed.data[0].embedding)))
    assert max(abs(a - b) for a, b in zip(floats, vectors[0], strict=True)) < 1e-6
    cut = client.embeddings.create(model="smol-embed", input=texts[0], dimensions=64).data[0].embedding
    assert len(cut) == 64 and abs(sum(x * x for x in cut) - 1) < 1e-4
    with pytest.raises(openai.BadRequestError, match="context window is 2048 tokens"):
        client.embeddings.create(model="smol-embed", input="word " * 3000)
    assert client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=4
    )


def test_health_shows_slots_queue_and_throughput(server: StackServer) -> None:
    shown = health(server)
    assert shown["status"] == "OK" and shown["slots"] == 1 and shown["queued"] == 0
    assert "slots busy" in shown["message"] and "tokens/s" in shown["message"]
