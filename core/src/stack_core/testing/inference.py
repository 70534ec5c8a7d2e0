"""The inference conformance suite: chat (both modes), tools, completions, embeddings, errors."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from .target import Target

__all__ = [
    "ChatConformance",
    "CompletionsConformance",
    "EmbeddingsConformance",
    "InferenceConformance",
    "StructuredOutputConformance",
    "ToolsConformance",
]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


async def sse_events(response: httpx.Response) -> AsyncIterator[Any]:
    """Decoded SSE payloads; the literal ``[DONE]`` is yielded as the string."""
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            payload = line[5:].strip()
            yield payload if payload == "[DONE]" else orjson.loads(payload)


class _Base:
    @pytest.fixture
    async def client(self, target: Target) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(base_url=target.url, headers=target.headers, timeout=60) as client:
            yield client

    @staticmethod
    def chat_model(target: Target) -> str:
        assert target.chat_model, "this suite needs Target.chat_model"
        return target.chat_model

    @staticmethod
    def embedding_model(target: Target) -> str:
        assert target.embedding_model, "this suite needs Target.embedding_model"
        return target.embedding_model


class ChatConformance(_Base):
    """Chat completions, both modes, and request errors."""

    async def test_models_are_listed(self, client: httpx.AsyncClient, target: Target) -> None:
        listed = (await client.get("/v1/models")).json()
        ids = {m["identifier"] for m in listed["data"]}
        assert listed["object"] == "list"
        assert {m for m in (target.chat_model, target.embedding_model) if m} <= ids

    async def test_chat_completion(self, client: httpx.AsyncClient, target: Target) -> None:
        body = {"model": self.chat_model(target), "messages": [{"role": "user", "content": "Say hello"}]}
        reply = (await client.post("/v1/chat/completions", json=body)).json()
        assert reply["object"] == "chat.completion"
        assert reply["choices"][0]["message"]["role"] == "assistant"
        assert reply["choices"][0]["message"]["content"]

    async def test_chat_streaming_ends_with_done_and_usage(
        self, client: httpx.AsyncClient, target: Target
    ) -> None:
        body = {
            "model": self.chat_model(target),
            "messages": [{"role": "user", "content": "Count to three"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = [e async for e in sse_events(response)]
        assert events[-1] == "[DONE]"
        chunks = events[:-1]
        text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])
        assert text and all(c["object"] == "chat.completion.chunk" for c in chunks)
        assert chunks[-1]["usage"]["total_tokens"] > 0

    async def test_unknown_model_is_404_naming_registered_models(
        self, client: httpx.AsyncClient, target: Target
    ) -> None:
        body = {"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}
        response = await client.post("/v1/chat/completions", json=body)
        assert response.status_code == 404
        error = response.json()["error"]
        assert "no-such-model" in error["message"] and "POST /v1/models" in error["message"]

    async def test_missing_messages_is_400(self, client: httpx.AsyncClient, target: Target) -> None:
        response = await client.post("/v1/chat/completions", json={"model": self.chat_model(target)})
        assert response.status_code == 400 and "messages" in response.json()["error"]["message"]


class StructuredOutputConformance(_Base):
    """``response_format`` JSON modes, and ``n``/``logprobs`` passed through to the backend."""

    async def test_json_object_response_format(self, client: httpx.AsyncClient, target: Target) -> None:
        body = {
            "model": self.chat_model(target),
            "messages": [{"role": "user", "content": "Reply with a JSON object describing a cat."}],
            "response_format": {"type": "json_object"},
        }
        reply = (await client.post("/v1/chat/completions", json=body)).json()
        assert isinstance(orjson.loads(reply["choices"][0]["message"]["content"]), dict)

    async def test_json_schema_response_format(self, client: httpx.AsyncClient, target: Target) -> None:
        schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
        body = {
            "model": self.chat_model(target),
            "messages": [{"role": "user", "content": "Name a cat."}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "cat", "schema": schema}},
        }
        reply = (await client.post("/v1/chat/completions", json=body)).json()
        assert "name" in orjson.loads(reply["choices"][0]["message"]["content"])

    async def test_n_and_logprobs_pass_through(self, client: httpx.AsyncClient, target: Target) -> None:
        body = {
            "model": self.chat_model(target),
            "messages": [{"role": "user", "content": "Say hi"}],
            "n": 2,
            "logprobs": True,
            "top_logprobs": 1,
        }
        reply = (await client.post("/v1/chat/completions", json=body)).json()
        assert len(reply["choices"]) == 2
        assert reply["choices"][0]["logprobs"]["content"]


class ToolsConformance(_Base):
    """Tool calls, plain and streamed as deltas."""

    async def test_tool_call(self, client: httpx.AsyncClient, target: Target) -> None:
        body = {
            "model": self.chat_model(target),
            "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
            "tools": [WEATHER_TOOL],
            "tool_choice": "required",
        }
        reply = (await client.post("/v1/chat/completions", json=body)).json()
        call = reply["choices"][0]["message"]["tool_calls"][0]
        assert call["function"]["name"] == "get_weather"
        assert isinstance(orjson.loads(call["function"]["arguments"]), dict)

    async def test_tool_call_streaming(self, client: httpx.AsyncClient, target: Target) -> None:
        body = {
            "model": self.chat_model(target),
            "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
            "tools": [WEATHER_TOOL],
            "tool_choice": "required",
            "stream": True,
        }
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            events = [e async for e in sse_events(response)]
        deltas = [
            call
            for e in events[:-1]
            if e["choices"]
            for call in (e["choices"][0]["delta"].get("tool_calls") or [])
        ]
        assert deltas and deltas[0]["function"]["name"] == "get_weather"
        arguments = "".join(d["function"].get("arguments") or "" for d in deltas)
        assert isinstance(orjson.loads(arguments), dict)


class CompletionsConformance(_Base):
    """Text completions."""

    async def test_completion(self, client: httpx.AsyncClient, target: Target) -> None:
        body = {"model": self.chat_model(target), "prompt": "Once upon a time", "max_tokens": 16}
        reply = (await client.post("/v1/completions", json=body)).json()
        assert reply["object"] == "text_completion" and reply["choices"][0]["text"]


class EmbeddingsConformance(_Base):
    """Embeddings in both encodings."""

    async def test_embeddings_float_and_base64_agree(self, client: httpx.AsyncClient, target: Target) -> None:
        model = self.embedding_model(target)
        texts = ["the cat sat on the mat", "quarterly revenue grew"]
        floats = (await client.post("/v1/embeddings", json={"model": model, "input": texts})).json()
        encoded = (
            await client.post(
                "/v1/embeddings", json={"model": model, "input": texts, "encoding_format": "base64"}
            )
        ).json()
        vectors = [d["embedding"] for d in floats["data"]]
        assert len(vectors) == 2 and len(vectors[0]) == (target.embedding_dimension or len(vectors[0]))
        raw = base64.b64decode(encoded["data"][0]["embedding"])
        decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
        assert decoded == pytest.approx(vectors[0], abs=1e-5)


class InferenceConformance(
    ChatConformance,
    StructuredOutputConformance,
    ToolsConformance,
    CompletionsConformance,
    EmbeddingsConformance,
):
    """Everything an OpenAI-compatible chat + embeddings provider should pass.

    Subclass this (or only the parts that apply: ``ChatConformance``, ``ToolsConformance``,
    ``CompletionsConformance``, ``EmbeddingsConformance``) and provide a ``target`` fixture
    returning a ``Target``.
    """
