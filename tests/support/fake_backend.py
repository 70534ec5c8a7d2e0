#!/usr/bin/env python3
"""Deterministic fake LLM backend speaking the OpenAI, Ollama and TGI HTTP APIs.

Adapters are tested against it over real sockets; benchmarks use it as a cheap upstream.
Chat replies are ``"[<model>] echo: <last user text>"`` (models named *guard* answer like Llama Guard);
token counts are whitespace word counts.
Faults and latency are injected through ``POST /__control`` or ``x-fake-*`` request headers.

    python tests/support/fake_backend.py --port 0 --models m1,m2    # prints "READY http://127.0.0.1:PORT"
    async with FakeBackend(models=["m1"]) as fb: ...         # in-process, serves on fb.url
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import hashlib
import itertools
import json
import math
import re
import select
import signal
import socket
import subprocess
import sys
import time
from array import array
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiohttp import web

try:
    import orjson

    dumps: Callable[[Any], bytes] = orjson.dumps
    loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - orjson is optional

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    loads = json.loads

__all__ = ["FakeBackend", "FakeState", "embed_vector", "main", "spawn_fake_backend", "start_fake_backend"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CREATED = 1_700_000_000
_TOKEN_RE = re.compile(r"\s*\S+")
_SSE = "text/event-stream; charset=utf-8"
_DETAILS = {
    "parent_model": "",
    "format": "gguf",
    "family": "fake",
    "families": ["fake"],
    "parameter_size": "1B",
    "quantization_level": "Q4_K_M",
}
# POST /__control key -> (converter, value when null or reset); each key is also a FakeState attribute.
_CONTROL: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "fail_next": (int, 0),
    "status": (int, 500),
    "latency_ms": (float, 0.0),
    "chunk_delay_ms": (float, 0.0),
    "stream_fail_after": (int, None),
    "retry_after": (float, None),
    "bad_reply": (str, None),
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.headers = status, message, code, param, headers

    def response(self, path: str) -> web.Response:
        """OpenAI's error shape, or Ollama's ``{"error": "..."}`` under ``/api/``."""
        kind = (
            "server_error"
            if self.status >= 500
            else "rate_limit_error"
            if self.status == 429
            else "invalid_request_error"
        )
        body = (
            {"error": self.message}
            if path.startswith("/api/")
            else {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}
        )
        return web.Response(
            body=dumps(body), status=self.status, content_type="application/json", headers=self.headers
        )


@dataclass
class FakeState:
    """Fault/latency settings, named like the ``POST /__control`` keys, and per-path request counts.

    ``fail_next``: the next N API requests (those whose path starts with one of ``fail_paths``, if set)
    fail with ``status`` (+ ``Retry-After`` when ``retry_after`` is set); ``latency_ms`` delays every API
    response and ``chunk_delay_ms`` every streamed event; while ``stream_fail_after`` is set, streams drop
    the connection after that many events; while ``bad_reply`` is set, API requests get 200 with it as
    the body (labelled ``application/json``). ``reset`` restores the defaults and clears the counts.
    """

    latency_ms: float = 0.0
    chunk_delay_ms: float = 0.0
    fail_next: int = 0
    status: int = 500
    fail_paths: tuple[str, ...] = ()
    retry_after: float | None = None
    bad_reply: str | None = None
    stream_fail_after: int | None = None
    abandoned_streams: int = 0  # streams whose client disconnected before the end
    traceparent: str | None = None  # the W3C traceparent of the last API request that had one
    stats: Counter[str] = field(default_factory=Counter)

    def reset(self, latency_ms: float) -> None:
        for key, (_, default) in _CONTROL.items():
            setattr(self, key, default)
        self.latency_ms, self.fail_paths = latency_ms, ()
        self.stats.clear()
        self.abandoned_streams = 0
        self.traceparent = None

    def update(self, body: dict[str, Any]) -> None:
        for key, (convert, default) in _CONTROL.items():
            if key in body:
                setattr(self, key, default if body[key] is None else convert(body[key]))
        if "fail_paths" in body:
            paths = body["fail_paths"] or ()
            self.fail_paths = (paths,) if isinstance(paths, str) else tuple(paths)

    def snapshot(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k not in ("stats", "abandoned_streams", "traceparent")}


# ---------------------------------------------------------------- deterministic content


class Reply(NamedTuple):
    text: str  # message content, or the tool call's JSON arguments
    finish: str  # "stop" | "length" | "tool_calls"
    tool: tuple[str, str] | None = None  # (call id, function name)
    more: tuple[tuple[str, str, str], ...] = ()  # parallel tool calls after the first: (id, name, arguments)


def words(text: str) -> int:
    return len(text.split())


def text_of(content: Any) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return content if isinstance(content, str) else ""


def from_schema(schema: Any, text: str) -> Any:
    """A value satisfying a (simple) JSON schema; strings are filled with ``text``."""
    if not isinstance(schema, dict):
        return text
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return from_schema(schema[key][0], text)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {k: from_schema(v, text) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [from_schema(schema.get("items"), text)]
    count = words(text)
    scalars: dict[Any, Any] = {"integer": count, "number": float(count), "boolean": True, "null": None}
    return scalars.get(kind, text)


def finish_text(text: str, stop: Any, max_tokens: Any) -> Reply:
    for s in [stop] if isinstance(stop, str) else stop or ():
        if s and (i := text.find(s)) >= 0:
            text = text[:i]
    if isinstance(max_tokens, int) and max_tokens >= 0 and words(text) > max_tokens:
        return Reply("".join(_TOKEN_RE.findall(text)[:max_tokens]), "length")
    return Reply(text, "stop")


_GUARD_WORDS = {"kill": "S1", "steal": "S2", "bomb": "S9", "suicide": "S11"}


def guard_verdict(prompt: str) -> str:
    """Llama Guard's answer: ``unsafe\\nS1,S9`` for trigger words in the conversation (a category
    counts only if the prompt lists it as ``S1: ...``), else ``safe``."""
    head, marker, rest = prompt.partition("<BEGIN CONVERSATION>")
    conversation = rest.partition("<END CONVERSATION>")[0] if marker else prompt
    found = {_GUARD_WORDS[w] for w in re.findall(r"[a-z]+", conversation.lower()) if w in _GUARD_WORDS}
    codes = sorted((c for c in found if not marker or f"{c}:" in head), key=lambda c: int(c[1:]))
    return "unsafe\n" + ",".join(codes) if codes else "safe"


def tool_call(fn: dict[str, Any], user: str) -> tuple[str, str, str]:
    """(call id, name, JSON arguments) of a call to ``fn``, its arguments filled from ``user``."""
    params, name = fn.get("parameters") or {}, str(fn.get("name") or "tool")
    args = from_schema(params, user) if params.get("properties") else {"input": user}
    call_id = "call_" + hashlib.blake2b(f"{name}\0{user}".encode(), digest_size=12).hexdigest()
    return call_id, name, dumps(args).decode()


def chat_reply(
    model: str, messages: list[Any], tools: Any, tool_choice: Any, schema: Any, stop: Any, max_tokens: Any
) -> Reply:
    """Llama Guard verdict (model named *guard*), tool calls (one per tool named in the last user
    text when it names several; else one, forced or for "weather" in it), JSON (``schema``), or an
    echo."""
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    user = next(
        (
            text_of(m.get("content"))
            for m in reversed(messages)
            if isinstance(m, dict) and m.get("role") == "user"
        ),
        "",
    )
    if "guard" in model.lower():
        return Reply(guard_verdict(user), "stop")
    if last.get("role") == "tool":
        return finish_text(f"[{model}] tool result: {text_of(last.get('content'))}", stop, max_tokens)
    forced = tool_choice.get("function", {}).get("name") if isinstance(tool_choice, dict) else None
    fns = [t.get("function", t) for t in tools or () if isinstance(t, dict)]
    named = [f for f in fns if str(f.get("name") or "\0").lower() in user.lower()]
    if fns and tool_choice != "none" and not forced and len(named) > 1:
        (first_id, first_name, args), *more = [tool_call(f, user) for f in named]
        return Reply(args, "tool_calls", (first_id, first_name), tuple(more))
    if fns and tool_choice != "none" and (forced or tool_choice == "required" or "weather" in user.lower()):
        fn = next((f for f in fns if f.get("name") == forced), None) or next(
            (f for f in fns if "weather" in str(f.get("name", "")).lower()), fns[0]
        )
        call_id, name, args = tool_call(fn, user)
        return Reply(args, "tool_calls", (call_id, name))
    if schema is not None:
        obj = from_schema(schema, user) if isinstance(schema, dict) else {"model": model, "echo": user}
        return Reply(dumps(obj).decode(), "stop")
    return finish_text(f"[{model}] echo: {user}", stop, max_tokens)


def token_logprob(token: str) -> float:
    return -round((sum(token.encode()) % 97) / 100, 2)


def chat_logprobs(text: str, top: int) -> dict[str, Any]:
    content = []
    for tok in _TOKEN_RE.findall(text):
        lp = token_logprob(tok)
        alts = [(tok, lp)] + [(f"<alt{i}>", lp - i) for i in range(1, top)]
        content.append(
            {
                "token": tok,
                "logprob": lp,
                "bytes": list(tok.encode()),
                "top_logprobs": [
                    {"token": t, "logprob": p, "bytes": list(t.encode())} for t, p in alts[:top]
                ],
            }
        )
    return {"content": content, "refusal": None}


def text_logprobs(text: str, top: int) -> dict[str, Any]:
    toks = [(m.group(), m.start()) for m in _TOKEN_RE.finditer(text)]
    lps = [token_logprob(t) for t, _ in toks]
    return {
        "tokens": [t for t, _ in toks],
        "token_logprobs": lps,
        "text_offset": [o for _, o in toks],
        "top_logprobs": [{t: lp} for (t, _), lp in zip(toks, lps, strict=True)] if top else None,
    }


def split(text: str, n: int) -> list[str]:
    """Exactly ``n`` consecutive slices (some empty when the text is short)."""
    size = len(text)
    return [text[i * size // n : (i + 1) * size // n] for i in range(n)]


@functools.lru_cache(maxsize=8192)
def embed_vector(text: str, dim: int) -> tuple[float, ...]:
    """Unit-norm vector from SHAKE-256 of the text; a smaller ``dim`` gives a renormalised prefix."""
    raw = array("h")
    raw.frombytes(hashlib.shake_256(text.encode()).digest(2 * dim))
    if sys.byteorder == "big":
        raw.byteswap()
    norm = math.hypot(*raw) or 1.0
    return tuple(x / norm for x in raw)


def embed_b64(vec: Sequence[float]) -> str:
    packed = array("f", vec)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def parse_inputs(value: Any, param: str) -> list[tuple[str, int]]:
    """str | list[str] | list[int] | list[list[int]] -> [(text, token count)]."""
    if isinstance(value, str):
        return [(value, words(value))]
    if isinstance(value, list) and value and all(type(x) is int for x in value):
        value = [value]
    out = []
    for x in value if isinstance(value, list) else ():
        if isinstance(x, str):
            out.append((x, words(x)))
        elif isinstance(x, list) and all(type(t) is int for t in x):
            out.append((" ".join(map(str, x)), len(x)))
        else:
            raise ApiError(400, f"invalid item in '{param}'", param=param)
    if not out:
        raise ApiError(400, f"'{param}' must be a string or a non-empty list", param=param)
    return out


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        body = loads(await request.read())
    except ValueError:
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return body


def ok(obj: Any) -> web.Response:
    return web.Response(body=obj if isinstance(obj, bytes) else dumps(obj), content_type="application/json")


def static(body: bytes, content_type: str = "application/json") -> Handler:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type)

    return handler


def sse(obj: Any) -> bytes:
    return b"data: " + dumps(obj) + b"\n\n"


def header_float(request: web.Request, name: str) -> float:
    value = request.headers.get(name)
    return float(value) if value else 0.0


def _names(value: Sequence[str] | str) -> list[str]:
    return [m for m in (value.split(",") if isinstance(value, str) else value) if m]


# ---------------------------------------------------------------- server


class FakeBackend:
    """The fake server; ``async with FakeBackend(models=["m1"]) as fb:`` serves on ``fb.url``."""

    def __init__(
        self,
        *,
        models: Sequence[str] | str = ("fake-model",),
        embedding_models: Sequence[str] | str = (),
        embedding_dim: int = 384,
        api_key: str | None = None,
        latency_ms: float = 0.0,
        chunks: int = 8,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.models, self.embedding_models = _names(models), _names(embedding_models)
        self.embedding_dim, self.chunks, self.latency_ms = embedding_dim, max(1, chunks), latency_ms
        self.auth = f"Bearer {api_key}" if api_key else None
        self.host, self.port, self.url = host, port, ""
        self.state = FakeState(latency_ms=latency_ms)
        self._chat_ok = frozenset(self.models)
        self._embed_ok = frozenset(self.embedding_models or self.models)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeBackend:
        if self._runner is None:
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.host, self.port))
            except OSError:
                sock.close()
                raise
            self.port = sock.getsockname()[1]
            self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1.0)
            await self._runner.setup()
            await web.SockSite(self._runner, sock, backlog=1024).start()
            shown = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
            self.url = f"http://[{shown}]:{self.port}" if ":" in shown else f"http://{shown}:{self.port}"
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeBackend:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _listings(self) -> dict[str, bytes]:
        """The model-listing bodies (/v1/models, /api/tags, /info), rebuilt when ``models`` change."""
        every = list(dict.fromkeys(self.models + self.embedding_models))
        models = {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "fake-backend"} for m in every
            ],
        }
        tags = {
            "models": [
                {
                    "name": m,
                    "model": m,
                    "modified_at": "2024-01-01T00:00:00Z",
                    "size": 10**9,
                    "digest": hashlib.sha256(m.encode()).hexdigest(),
                    "details": _DETAILS,
                }
                for m in every
            ]
        }
        info = {
            "model_id": (self.models or [""])[0],
            "model_sha": None,
            "model_dtype": "float16",
            "model_device_type": "cpu",
            "model_pipeline_tag": "text-generation",
            "max_best_of": 2,
            "max_concurrent_requests": 128,
            "max_stop_sequences": 4,
            "max_input_tokens": 8191,
            "max_total_tokens": 8192,
            "validation_workers": 2,
            "max_client_batch_size": 32,
            "router": "text-generation-router",
            "version": "3.0.0",
            "sha": None,
            "docker_label": None,
        }
        return {"models": dumps(models), "tags": dumps(tags), "info": dumps(info)}

    def set_models(self, models: Sequence[str] | str) -> None:
        self.models = _names(models)
        self._chat_ok = frozenset(self.models)
        self._listing = self._listings()

    def listing(self, name: str) -> Handler:
        async def handler(_: web.Request) -> web.Response:
            return web.Response(body=self._listing[name], content_type="application/json")

        return handler

    def build_app(self) -> web.Application:
        self._listing = self._listings()
        g, app = self._gate, web.Application()
        app.add_routes(
            [
                web.get("/", static(b"Ollama is running", "text/plain")),
                web.get("/health", static(b'{"status":"ok"}')),
                web.get("/__stats", self.stats),
                web.get("/__control", self.control),
                web.post("/__control", self.control),
                web.get("/v1/models", g(self.listing("models"))),
                web.get("/v1/models/{model}", g(self.get_model)),
                web.post("/v1/chat/completions", g(self.chat_completions)),
                web.post("/v1/completions", g(self.completions)),
                web.post("/v1/embeddings", g(self.embeddings)),
                web.get("/api/tags", g(self.listing("tags"))),
                web.post("/api/show", g(self.ollama_show)),
                web.get("/api/version", g(static(b'{"version":"0.9.0"}'))),
                web.post("/api/chat", g(self.ollama_generate)),
                web.post("/api/generate", g(self.ollama_generate)),
                web.post("/api/embed", g(self.ollama_embed)),
                web.post("/api/embeddings", g(self.ollama_embed)),
                web.get("/info", g(self.listing("info"))),
                web.get("/version", g(static(b'{"version":"0.0.0"}'))),
            ]
        )
        return app

    def _gate(self, handler: Handler) -> Handler:
        """Wrap an API handler with request counting, latency, auth and injected faults."""
        state, auth = self.state, self.auth

        async def gated(request: web.Request) -> web.StreamResponse:
            path, headers = request.path, request.headers
            state.stats[path] += 1
            state.traceparent = headers.get("traceparent", state.traceparent)
            try:
                delay = state.latency_ms + header_float(request, "x-fake-latency-ms")
                if delay > 0:
                    await asyncio.sleep(delay / 1000)
                if auth is not None and headers.get("Authorization") != auth:
                    raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
                if (forced := int(headers.get("x-fake-status") or 0)) >= 400:
                    raise ApiError(forced, f"injected status {forced}", code="injected")
                if state.fail_next > 0 and (not state.fail_paths or path.startswith(state.fail_paths)):
                    state.fail_next -= 1
                    extra = None if state.retry_after is None else {"Retry-After": f"{state.retry_after:g}"}
                    raise ApiError(state.status, "injected failure", code="injected", headers=extra)
                if state.bad_reply is not None:
                    return web.Response(text=state.bad_reply, content_type="application/json")
                return await handler(request)
            except ApiError as err:
                return err.response(path)
            except (ValueError, TypeError, AttributeError) as err:  # malformed fields or headers
                return ApiError(400, f"bad request: {err}").response(path)

        return gated

    async def stats(self, request: web.Request) -> web.Response:
        stats = self.state.stats
        return ok(
            {
                "total": sum(stats.values()),
                "paths": dict(stats),
                "abandoned_streams": self.state.abandoned_streams,
                "traceparent": self.state.traceparent,
            }
        )

    async def control(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                body = await read_json(request)
                if body.get("reset"):
                    self.state.reset(self.latency_ms)
                self.state.update(body)
                if "models" in body:
                    self.set_models(body["models"])
            except (ApiError, ValueError, TypeError) as err:
                return ApiError(400, str(err)).response(request.path)
        return ok(self.state.snapshot())

    async def _stream(self, request: web.Request, events: list[bytes], ctype: str) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": ctype, "Cache-Control": "no-cache"})
        await resp.prepare(request)
        delay = (self.state.chunk_delay_ms + header_float(request, "x-fake-chunk-delay-ms")) / 1000
        fail_after = self.state.stream_fail_after
        try:
            if delay <= 0 and fail_after is None:
                await resp.write(b"".join(events))
            else:
                for i, event in enumerate(events):
                    if fail_after is not None and i >= fail_after:
                        if request.transport is not None:  # drop the connection mid-body
                            request.transport.abort()
                        return resp
                    if delay > 0 and i:
                        await asyncio.sleep(delay)
                    await resp.write(event)
            await resp.write_eof()
        except ConnectionResetError:  # the client went away
            self.state.abandoned_streams += 1
        return resp

    def _chunks(self, request: web.Request, body: dict[str, Any]) -> int:
        return max(1, int(request.headers.get("x-fake-chunks") or body.get("fake_chunks") or self.chunks))

    def _model(self, body: dict[str, Any], allowed: frozenset[str], ollama: bool = False) -> str:
        model = body.get("model") or (body.get("name") if ollama else None)
        if not isinstance(model, str):
            raise ApiError(400, "'model' is required", param="model", code="missing_model")
        if ollama and model not in allowed and model.endswith(":latest"):
            model = model[: -len(":latest")]
        if model in allowed:
            return model
        if ollama:
            raise ApiError(404, f'model "{model}" not found, try pulling it first')
        raise ApiError(404, f"The model `{model}` does not exist.", code="model_not_found", param="model")

    # -- OpenAI
    async def get_model(self, request: web.Request) -> web.Response:
        model = self._model({"model": request.match_info["model"]}, self._chat_ok | self._embed_ok)
        return ok({"id": model, "object": "model", "created": CREATED, "owned_by": "fake-backend"})

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        body = await read_json(request)
        model = self._model(body, self._chat_ok)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "'messages' must be a non-empty list", param="messages")
        fmt = body.get("response_format") or {}
        schema = (
            (fmt.get("json_schema") or {}).get("schema", {})
            if fmt.get("type") == "json_schema"
            else True
            if fmt.get("type") == "json_object"
            else None
        )
        reply = chat_reply(
            model,
            messages,
            body.get("tools"),
            body.get("tool_choice", "auto"),
            schema,
            body.get("stop"),
            body.get("max_completion_tokens") or body.get("max_tokens"),
        )
        n, top = int(body.get("n") or 1), int(body.get("top_logprobs") or 0)
        want_lp = bool(body.get("logprobs")) and reply.tool is None
        prompt, out = sum(words(text_of(m.get("content"))) for m in messages), n * words(reply.text)
        usage = {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}
        stream = bool(body.get("stream"))
        head: dict[str, Any] = {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "object": "chat.completion.chunk" if stream else "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        calls = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in ([(*reply.tool, reply.text), *reply.more] if reply.tool else [])
        ]
        call = calls[0] if calls else None
        if not stream:
            msg: dict[str, Any] = {
                "role": "assistant",
                "content": None if call else reply.text,
                "refusal": None,
            }
            if calls:
                msg["tool_calls"] = calls
            lp = chat_logprobs(reply.text, top) if want_lp else None
            choices = [
                {"index": i, "message": msg, "logprobs": lp, "finish_reason": reply.finish} for i in range(n)
            ]
            return ok({**head, "choices": choices, "usage": usage})
        if with_usage := bool((body.get("stream_options") or {}).get("include_usage")):
            head["usage"] = None
        pieces = split(reply.text, self._chunks(request, body))
        if call:
            first: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"index": 0, **call, "function": {**call["function"], "arguments": ""}}],
            }
            deltas: list[dict[str, Any]] = [
                {"tool_calls": [{"index": 0, "function": {"arguments": p}}]} for p in pieces
            ]
            for k, more in enumerate(calls[1:], 1):  # each parallel call: its head, then its arguments
                head_k = {"index": k, **more, "function": {**more["function"], "arguments": ""}}
                deltas += [{"tool_calls": [head_k]}] + [
                    {"tool_calls": [{"index": k, "function": {"arguments": p}}]}
                    for p in split(more["function"]["arguments"], len(pieces))
                ]
        else:
            first, deltas = {"role": "assistant", "content": ""}, [{"content": p} for p in pieces]
        lps = [chat_logprobs(p, top) if want_lp else None for p in pieces] + [None] * (
            len(deltas) - len(pieces)
        )
        steps = [
            (first, None, None),
            *((d, lp, None) for d, lp in zip(deltas, lps, strict=True)),
            ({}, None, reply.finish),
        ]
        events = [
            sse({**head, "choices": [{"index": i, "delta": d, "logprobs": lp, "finish_reason": f}]})
            for d, lp, f in steps
            for i in range(n)
        ]
        if with_usage:
            events.append(sse({**head, "choices": [], "usage": usage}))
        return await self._stream(request, [*events, b"data: [DONE]\n\n"], _SSE)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await read_json(request)
        model = self._model(body, self._chat_ok)
        prompts = parse_inputs(body.get("prompt", ""), "prompt")
        n, top, want_lp = int(body.get("n") or 1), int(body.get("logprobs") or 0), "logprobs" in body
        replies = []
        for text, _ in prompts:
            r = finish_text(f"[{model}] echo: {text}", body.get("stop"), body.get("max_tokens"))
            replies += [r._replace(text=text + r.text) if body.get("echo") else r] * n
        prompt, out = sum(c for _, c in prompts), sum(words(r.text) for r in replies)
        usage = {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}
        head: dict[str, Any] = {
            "id": f"cmpl-fake{next(self._ids)}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": model,
        }
        if not body.get("stream"):
            choices = [
                {
                    "index": i,
                    "text": r.text,
                    "finish_reason": r.finish,
                    "logprobs": text_logprobs(r.text, top) if want_lp and top >= 0 else None,
                }
                for i, r in enumerate(replies)
            ]
            return ok({**head, "choices": choices, "usage": usage})
        if with_usage := bool((body.get("stream_options") or {}).get("include_usage")):
            head["usage"] = None
        sliced = [[*split(r.text, self._chunks(request, body)), ""] for r in replies]
        last = len(sliced[0]) - 1
        events = [
            sse(
                {
                    **head,
                    "choices": [
                        {
                            "index": i,
                            "text": pieces[k],
                            "logprobs": None,
                            "finish_reason": replies[i].finish if k == last else None,
                        }
                    ],
                }
            )
            for k in range(last + 1)
            for i, pieces in enumerate(sliced)
        ]
        if with_usage:
            events.append(sse({**head, "choices": [], "usage": usage}))
        return await self._stream(request, [*events, b"data: [DONE]\n\n"], _SSE)

    async def embeddings(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        model = self._model(body, self._embed_ok)
        items = parse_inputs(body.get("input"), "input")
        if (dim := int(body.get("dimensions") or self.embedding_dim)) <= 0:
            raise ApiError(400, "'dimensions' must be positive", param="dimensions")
        b64 = body.get("encoding_format") == "base64"
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": embed_b64(embed_vector(t, dim)) if b64 else embed_vector(t, dim),
            }
            for i, (t, _) in enumerate(items)
        ]
        tokens = sum(c for _, c in items)
        return ok(
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    # -- Ollama native
    async def ollama_show(self, request: web.Request) -> web.Response:
        model = self._model(await read_json(request), self._chat_ok | self._embed_ok, ollama=True)
        caps = ["completion", "tools"] if model in self._chat_ok else ["embedding"]
        return ok(
            {
                "modelfile": f"FROM {model}\n",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": _DETAILS,
                "capabilities": caps,
                "modified_at": "2024-01-01T00:00:00Z",
                "model_info": {
                    "general.architecture": "fake",
                    "general.parameter_count": 10**9,
                    "fake.context_length": 8192,
                    "fake.embedding_length": self.embedding_dim,
                },
            }
        )

    async def ollama_generate(self, request: web.Request) -> web.StreamResponse:
        """``/api/chat`` and ``/api/generate``: NDJSON stream unless ``"stream": false``."""
        body = await read_json(request)
        model = self._model(body, self._chat_ok, ollama=True)
        opts, fmt, is_chat = body.get("options") or {}, body.get("format"), request.path == "/api/chat"
        schema = fmt if isinstance(fmt, dict) else True if fmt == "json" else None
        limit = opts.get("num_predict") if isinstance(opts.get("num_predict"), int) else None
        prompt_msg = {"role": "user", "content": str(body.get("prompt") or "")}
        messages = body.get("messages") if is_chat else [prompt_msg]
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "messages are required")
        reply = chat_reply(
            model,
            messages,
            body.get("tools") if is_chat else None,
            "auto",
            schema,
            opts.get("stop"),
            limit if limit is None or limit >= 0 else None,
        )
        prompt, out = sum(words(text_of(m.get("content"))) for m in messages), words(reply.text)
        head = {"model": model, "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())}
        final = {
            "done": True,
            "done_reason": "length" if reply.finish == "length" else "stop",
            "total_duration": 1000 * (prompt + out + 1),
            "load_duration": 1000,
            "prompt_eval_count": prompt,
            "prompt_eval_duration": 1000 * prompt,
            "eval_count": out,
            "eval_duration": 1000 * out,
        }
        key = "message" if is_chat else "response"
        wrap: Callable[[str], Any] = (lambda c: {"role": "assistant", "content": c}) if is_chat else str
        calls = (
            [
                {"function": {"name": name, "arguments": loads(args.encode())}}
                for _, name, args in [(*reply.tool, reply.text), *reply.more]
            ]
            if reply.tool
            else None
        )
        pieces = [""] if calls else split(reply.text, self._chunks(request, body))
        value = (lambda p: {**wrap(p), "tool_calls": calls}) if calls else wrap
        if not body.get("stream", True):
            return ok({**head, key: value("" if calls else reply.text), **final})
        events = [dumps({**head, key: value(p), "done": False}) + b"\n" for p in pieces]
        events.append(dumps({**head, key: wrap(""), **final}) + b"\n")
        return await self._stream(request, events, "application/x-ndjson")

    async def ollama_embed(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        model = self._model(body, self._embed_ok, ollama=True)
        dim = int(body.get("dimensions") or self.embedding_dim)
        if request.path == "/api/embeddings":  # legacy single-prompt endpoint
            return ok({"embedding": embed_vector(str(body.get("prompt") or ""), dim)})
        items = parse_inputs(body.get("input"), "input")
        tokens = sum(c for _, c in items)
        return ok(
            {
                "model": model,
                "embeddings": [embed_vector(t, dim) for t, _ in items],
                "total_duration": 1000 * (tokens + 1),
                "load_duration": 1000,
                "prompt_eval_count": tokens,
            }
        )


async def start_fake_backend(**options: Any) -> FakeBackend:
    """Start in-process on a free port (``FakeBackend`` keyword options); ``await fb.stop()`` when done."""
    return await FakeBackend(**options).start()


def spawn_fake_backend(timeout: float = 20.0, **options: Any) -> tuple[str, subprocess.Popen[str]]:
    """Run the CLI in a subprocess (``FakeBackend`` keyword options); the caller terminates and waits."""
    cmd = [sys.executable, __file__]
    for key, value in options.items():
        if value is not None:
            cmd += [
                f"--{key.replace('_', '-')}",
                value
                if isinstance(value, str)
                else ",".join(value)
                if isinstance(value, list | tuple)
                else str(value),
            ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = select.select([proc.stdout], [], [], timeout)[0]
    line = proc.stdout.readline().strip() if ready else ""
    proc.stdout.close()  # nothing else is printed after READY
    if not line.startswith("READY "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"fake backend did not start: {line!r}")
    return line.removeprefix("READY "), proc


async def _serve(backend: FakeBackend) -> None:
    await backend.start()
    print(f"READY {backend.url}", flush=True)
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(sig, stopping.set)
    await stopping.wait()
    await backend.stop()


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Deterministic fake OpenAI/Ollama/TGI backend.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--models", default="fake-model", help="comma-separated chat/completion model ids")
    p.add_argument("--embedding-models", default="", help="comma-separated embedding model ids")
    p.add_argument("--embedding-dim", type=int, default=384)
    p.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    p.add_argument("--latency-ms", type=float, default=0.0, help="added before every API response")
    p.add_argument("--chunks", type=int, default=8, help="content chunks per streamed reply")
    backend = FakeBackend(**vars(p.parse_args(argv)))
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_serve(backend))


if __name__ == "__main__":
    main()
