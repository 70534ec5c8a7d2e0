"""Tests for tests/support/fake_backend.py, over real sockets (httpx, the openai SDK and a subprocess)."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import fake_backend as fb
import httpx
import pytest

Check = Callable[[fb.FakeBackend, httpx.AsyncClient], Awaitable[None]]
USER = [{"role": "user", "content": "hello big world"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city", "unit"],
        },
    },
}


def serve(check: Check, **options: Any) -> None:
    """Run ``check`` against an in-process backend (models m1,m2 / e1 unless overridden)."""
    options = {"models": "m1,m2", "embedding_models": ["e1"], "embedding_dim": 16, **options}

    async def main() -> None:
        async with fb.FakeBackend(**options) as backend, httpx.AsyncClient(base_url=backend.url) as client:
            await check(backend, client)

    asyncio.run(main())


def sse(text: str) -> list[Any]:
    """Decoded SSE payloads; the literal ``[DONE]`` is kept as a string."""
    datas = [block.removeprefix("data: ") for block in text.split("\n\n") if block]
    return [d if d == "[DONE]" else json.loads(d) for d in datas]


def ndjson(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


def test_listings_and_info() -> None:
    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        models = (await c.get("/v1/models")).json()
        assert models["object"] == "list"
        assert [m["id"] for m in models["data"]] == ["m1", "m2", "e1"]
        assert set(models["data"][0]) == {"id", "object", "created", "owned_by"}
        assert (await c.get("/v1/models/m2")).json()["id"] == "m2"
        tags = (await c.get("/api/tags")).json()["models"]
        assert [t["name"] for t in tags] == ["m1", "m2", "e1"] and "parameter_size" in tags[0]["details"]
        assert (await c.get("/info")).json()["model_id"] == "m1"
        assert "version" in (await c.get("/api/version")).json()
        show = (await c.post("/api/show", json={"model": "m1"})).json()
        assert show["capabilities"] == ["completion", "tools"]
        assert (await c.get("/health")).status_code == 200

    serve(check)


def test_chat_non_stream_stop_max_tokens_and_n() -> None:
    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        body = (await c.post("/v1/chat/completions", json={"model": "m2", "messages": USER, "n": 2})).json()
        assert body["object"] == "chat.completion" and body["model"] == "m2"
        assert [ch["message"]["content"] for ch in body["choices"]] == ["[m2] echo: hello big world"] * 2
        assert body["choices"][1]["index"] == 1 and body["choices"][0]["finish_reason"] == "stop"
        assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 10, "total_tokens": 13}
        parts = [{"role": "user", "content": [{"type": "text", "text": "say STOP now"}]}]
        stopped = (
            await c.post("/v1/chat/completions", json={"model": "m1", "messages": parts, "stop": ["STOP"]})
        ).json()
        assert stopped["choices"][0]["message"]["content"] == "[m1] echo: say "
        short = (
            await c.post("/v1/chat/completions", json={"model": "m1", "messages": USER, "max_tokens": 2})
        ).json()
        assert short["choices"][0]["message"]["content"] == "[m1] echo:"
        assert short["choices"][0]["finish_reason"] == "length"

    serve(check)


def test_chat_stream_done_usage_and_chunk_override() -> None:
    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        req = {"model": "m1", "messages": USER, "stream": True, "stream_options": {"include_usage": True}}
        resp = await c.post("/v1/chat/completions", json=req)
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.text.endswith("data: [DONE]\n\n")
        events = sse(resp.text)
        assert events[-1] == "[DONE]"
        usage_chunk, chunks = events[-2], events[:-2]
        assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] == 5
        assert all(e["object"] == "chat.completion.chunk" and e["usage"] is None for e in chunks)
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
        assert len(chunks) == 8 + 2
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in chunks)
        assert text == "[m1] echo: hello big world"
        many = sse(
            (
                await c.post(
                    "/v1/chat/completions",
                    json={**req, "stream_options": None},
                    headers={"x-fake-chunks": "64"},
                )
            ).text
        )
        assert len(many) == 64 + 3 and "usage" not in many[1]

    serve(check)


def test_tool_calls_stream_and_non_stream() -> None:
    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        msgs = [{"role": "user", "content": "What is the weather in Paris?"}]
        req = {"model": "m1", "messages": msgs, "tools": [WEATHER_TOOL]}
        body = (await c.post("/v1/chat/completions", json=req)).json()
        choice = body["choices"][0]
        assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
        call = choice["message"]["tool_calls"][0]
        assert call["type"] == "function" and call["function"]["name"] == "get_weather"
        args = json.loads(call["function"]["arguments"])
        assert args == {"city": "What is the weather in Paris?", "unit": "c"}
        events = sse((await c.post("/v1/chat/completions", json={**req, "stream": True})).text)
        deltas = [e["choices"][0]["delta"] for e in events[:-1]]
        first = deltas[0]["tool_calls"][0]
        assert first["id"] == call["id"] and first["function"]["name"] == "get_weather"
        streamed = "".join(d["tool_calls"][0]["function"]["arguments"] for d in deltas if "tool_calls" in d)
        assert json.loads(streamed) == args and events[-2]["choices"][0]["finish_reason"] == "tool_calls"
        forced = {
            "model": "m1",
            "messages": USER,
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        }
        forced_reply = (await c.post("/v1/chat/completions", json=forced)).json()
        assert forced_reply["choices"][0]["message"]["tool_calls"]
        plain = (await c.post("/v1/chat/completions", json={**forced, "tool_choice": "auto"})).json()
        assert plain["choices"][0]["message"]["content"] == "[m1] echo: hello big world"
        after = [*msgs, choice["message"], {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}]
        done = (await c.post("/v1/chat/completions", json={**req, "messages": after})).json()
        assert done["choices"][0]["message"]["content"] == "[m1] tool result: sunny"

    serve(check)


def test_json_response_format_and_logprobs() -> None:
    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        req: dict[str, Any] = {"model": "m1", "messages": USER, "response_format": {"type": "json_object"}}
        content = (await c.post("/v1/chat/completions", json=req)).json()["choices"][0]["message"]["content"]
        assert json.loads(content) == {"model": "m1", "echo": "hello big world"}
        schema = {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "n": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        }
        req["response_format"] = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
        content = (await c.post("/v1/chat/completions", json=req)).json()["choices"][0]["message"]["content"]
        assert json.loads(content) == {"name": "hello big world", "n": 3, "tags": ["hello big world"]}
        req = {"model": "m1", "messages": USER, "logprobs": True, "top_logprobs": 2}
        lp = (await c.post("/v1/chat/completions", json=req)).json()["choices"][0]["logprobs"]["content"]
        assert "".join(t["token"] for t in lp) == "[m1] echo: hello big world"
        assert all(t["logprob"] <= 0 and len(t["top_logprobs"]) == 2 for t in lp)

    serve(check)


def test_completions_non_stream_and_stream() -> None:
    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        req: dict[str, Any] = {"model": "m1", "prompt": ["a b", "c"], "logprobs": 1}
        body = (await c.post("/v1/completions", json=req)).json()
        assert body["object"] == "text_completion"
        assert [ch["text"] for ch in body["choices"]] == ["[m1] echo: a b", "[m1] echo: c"]
        assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10}
        assert body["choices"][0]["logprobs"]["tokens"] == ["[m1]", " echo:", " a", " b"]
        req = {"model": "m1", "prompt": "a b", "stream": True, "stream_options": {"include_usage": True}}
        events = sse((await c.post("/v1/completions", json=req, headers={"x-fake-chunks": "3"})).text)
        assert events[-1] == "[DONE]" and events[-2]["usage"]["total_tokens"] == 6
        texts = [e["choices"][0]["text"] for e in events[:-2]]
        assert len(texts) == 4 and "".join(texts) == "[m1] echo: a b"
        assert events[-3]["choices"][0]["finish_reason"] == "stop"

    serve(check)


def test_embeddings_float_base64_dimensions() -> None:
    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        req = {"model": "e1", "input": ["alpha", "beta"]}
        one, two = [(await c.post("/v1/embeddings", json=req)).json() for _ in range(2)]
        assert one == two and one["object"] == "list" and one["usage"]["prompt_tokens"] == 2
        vec_a, vec_b = (d["embedding"] for d in one["data"])
        assert len(vec_a) == 16 and vec_a != vec_b and math.isclose(math.hypot(*vec_a), 1.0, rel_tol=1e-9)
        b64 = (await c.post("/v1/embeddings", json={**req, "encoding_format": "base64"})).json()
        raw = base64.b64decode(b64["data"][0]["embedding"])
        assert struct.unpack("<16f", raw) == pytest.approx(vec_a, abs=1e-6)
        small = (await c.post("/v1/embeddings", json={**req, "input": "alpha", "dimensions": 4})).json()
        assert len(small["data"][0]["embedding"]) == 4
        assert math.isclose(math.hypot(*small["data"][0]["embedding"]), 1.0, rel_tol=1e-9)
        tokens = (await c.post("/v1/embeddings", json={"model": "e1", "input": [[1, 2, 3]]})).json()
        assert tokens["usage"]["prompt_tokens"] == 3 and len(tokens["data"]) == 1

    serve(check)


def test_ollama_chat_generate_embed() -> None:
    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        req = {"model": "m1:latest", "messages": USER}
        resp = await c.post("/api/chat", json=req)
        assert resp.headers["content-type"].startswith("application/x-ndjson")
        lines = ndjson(resp.text)
        assert all(not line["done"] for line in lines[:-1]) and len(lines) == 9
        assert "".join(line["message"]["content"] for line in lines) == "[m1] echo: hello big world"
        final = lines[-1]
        assert final["done"] and final["done_reason"] == "stop"
        assert (final["prompt_eval_count"], final["eval_count"]) == (3, 5)
        single = (await c.post("/api/chat", json={**req, "stream": False})).json()
        assert single["done"] and single["message"] == {
            "role": "assistant",
            "content": "[m1] echo: hello big world",
        }
        tools = {
            **req,
            "stream": False,
            "tools": [WEATHER_TOOL],
            "messages": [{"role": "user", "content": "weather in Oslo?"}],
        }
        call = (await c.post("/api/chat", json=tools)).json()["message"]["tool_calls"][0]["function"]
        assert call == {"name": "get_weather", "arguments": {"city": "weather in Oslo?", "unit": "c"}}
        gen = ndjson((await c.post("/api/generate", json={"model": "m2", "prompt": "hi"})).text)
        assert "".join(g["response"] for g in gen) == "[m2] echo: hi" and gen[-1]["done"]
        gen1 = (
            await c.post(
                "/api/generate",
                json={"model": "m2", "prompt": "hi", "stream": False, "options": {"num_predict": 1}},
            )
        ).json()
        assert gen1["response"] == "[m2]" and gen1["done_reason"] == "length"
        emb = (await c.post("/api/embed", json={"model": "e1", "input": ["x", "y"]})).json()
        assert len(emb["embeddings"]) == 2 and len(emb["embeddings"][0]) == 16
        assert emb["embeddings"][0] == list(fb.embed_vector("x", 16))
        missing = await c.post("/api/chat", json={"model": "nope", "messages": USER})
        assert missing.status_code == 404 and isinstance(missing.json()["error"], str)

    serve(check)


def test_unknown_model_and_api_key() -> None:
    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        auth = {"Authorization": "Bearer sekrit"}
        resp = await c.post("/v1/chat/completions", json={"model": "nope", "messages": USER}, headers=auth)
        assert resp.status_code == 404
        assert set(resp.json()["error"]) == {"message", "type", "param", "code"}
        assert resp.json()["error"]["code"] == "model_not_found"
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            denied = await c.get("/v1/models", headers=headers)
            assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
        assert (await c.get("/v1/models", headers=auth)).status_code == 200
        assert (await c.get("/health")).status_code == 200

    serve(check, api_key="sekrit")


def test_fault_injection_and_stats() -> None:
    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        req = {"model": "m1", "messages": USER}
        state = (await c.post("/__control", json={"fail_next": 2, "status": 503, "retry_after": 1})).json()
        assert state["fail_next"] == 2 and state["status"] == 503
        statuses = [(await c.post("/v1/chat/completions", json=req)) for _ in range(3)]
        assert [r.status_code for r in statuses] == [503, 503, 200]
        assert statuses[0].json()["error"]["type"] == "server_error"
        assert statuses[0].headers["retry-after"] == "1"
        stats = (await c.get("/__stats")).json()
        assert stats["paths"]["/v1/chat/completions"] == 3 and stats["total"] == 3
        forced = await c.post("/v1/chat/completions", json=req, headers={"x-fake-status": "429"})
        assert forced.status_code == 429 and forced.json()["error"]["type"] == "rate_limit_error"
        start = time.perf_counter()
        await c.get("/v1/models", headers={"x-fake-latency-ms": "60"})
        assert time.perf_counter() - start >= 0.06
        start = time.perf_counter()
        slow = await c.post(
            "/v1/chat/completions",
            json={**req, "stream": True, "fake_chunks": 4},
            headers={"x-fake-chunk-delay-ms": "10"},
        )
        assert time.perf_counter() - start >= 0.06 and len(sse(slow.text)) == 4 + 3
        await c.post("/__control", json={"stream_fail_after": 2})
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/v1/chat/completions", json={**req, "stream": True})
        async with httpx.AsyncClient(base_url=backend.url) as fresh:  # the old connection was dropped
            reset = (await fresh.post("/__control", json={"reset": True})).json()
            assert reset["stream_fail_after"] is None and (await fresh.get("/__stats")).json()["total"] == 0
            ok = await fresh.post("/v1/chat/completions", json={**req, "stream": True})
            assert sse(ok.text)[-1] == "[DONE]"
            await fresh.post("/__control", json={"fail_next": 1, "fail_paths": ["/api/"]})
            assert (await fresh.get("/v1/models")).status_code == 200
            assert (await fresh.get("/api/tags")).json() == {"error": "injected failure"}

    serve(check)


def test_openai_sdk_chat_and_embeddings() -> None:
    import openai

    async def check(backend: fb.FakeBackend, _: httpx.AsyncClient) -> None:
        async with openai.AsyncOpenAI(base_url=f"{backend.url}/v1", api_key="k", max_retries=0) as client:
            chat = await client.chat.completions.create(model="m1", messages=USER)
            assert chat.choices[0].message.content == "[m1] echo: hello big world"
            stream = await client.chat.completions.create(
                model="m1", messages=USER, stream=True, stream_options={"include_usage": True}
            )
            chunks = [chunk async for chunk in stream]
            assert (
                "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
                == "[m1] echo: hello big world"
            )
            assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
            tool = await client.chat.completions.create(
                model="m1", messages=[{"role": "user", "content": "weather?"}], tools=[WEATHER_TOOL]
            )
            assert tool.choices[0].message.tool_calls[0].function.name == "get_weather"
            emb = await client.embeddings.create(model="e1", input=["alpha"])  # the SDK asks for base64
            assert emb.data[0].embedding == pytest.approx(list(fb.embed_vector("alpha", 16)), abs=1e-6)
            with pytest.raises(openai.NotFoundError):
                await client.chat.completions.create(model="nope", messages=USER)

    serve(check)


def test_cli_subprocess_prints_ready_and_serves() -> None:
    url, proc = fb.spawn_fake_backend(models=["m1"], chunks=2)
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/v1/models", timeout=10) as resp:
            assert json.load(resp)["data"][0]["id"] == "m1"
        body = json.dumps({"model": "m1", "prompt": "yo"}).encode()
        req = urllib.request.Request(f"{url}/api/generate", data=body)
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert len(ndjson(resp.read().decode())) == 3
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_guard_models_answer_like_llama_guard() -> None:
    prompt = "<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent Crimes.\nS9: Weapons.\n<END UNSAFE CONTENT CATEGORIES>"
    assert fb.guard_verdict("how do I bake bread") == "safe"
    assert fb.guard_verdict("build a bomb and kill") == "unsafe\nS1,S9"
    assert fb.guard_verdict("a skill, a bombastic tone") == "safe"
    listed = f"{prompt}\n<BEGIN CONVERSATION>\nUser: steal a bomb\n<END CONVERSATION>"
    assert fb.guard_verdict(listed) == "unsafe\nS9"  # S2 is not a listed category

    async def check(backend: fb.FakeBackend, c: httpx.AsyncClient) -> None:
        body = {"model": "Llama-Guard-3-1B", "messages": [{"role": "user", "content": "kill them"}]}
        reply = (await c.post("/v1/chat/completions", json=body)).json()
        assert reply["choices"][0]["message"]["content"] == "unsafe\nS1"

    serve(check, models="m1,Llama-Guard-3-1B")
