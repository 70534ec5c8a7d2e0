"""Stream framing: how a streaming route's items become server-sent events.

A ``Route`` declares its framing; the server applies it to whatever the route's callable streams.
Three are built in:

- ``OPENAI_CHUNKS``: ``data: <json>`` per item and a final ``data: [DONE]`` (chat completions,
  completions); an error mid-stream is ``data: {"error": {...}}``, which the OpenAI SDKs raise on.
- ``LLAMA_STACK_CHUNKS``: the same chunks without ``[DONE]``, as Llama Stack 0.2 streamed them on
  its ``/v1/openai/v1/...`` paths (``llama-stack-client`` 0.2 parses every event as JSON). A relayed,
  already-framed OpenAI stream (``SSEStream``) loses its ``[DONE]`` event on the way.
- ``NAMED_EVENTS``: ``event: <item.type>`` + ``data: <json>`` per item, no terminator (the
  Responses API: ``event: response.output_text.delta``); an error is ``event: error`` with
  ``{"type": "error", "code", "message", "param"}`` as OpenAI sends it.
- ``TURN_EVENTS``: bare ``data: <json>`` per item, no terminator (Llama Stack's agent turn
  events, which its 0.2 client parses event by event); an error is ``data: {"error": {...}}``.

Items are pydantic models, mappings, or pre-encoded JSON ``bytes`` (not for named events, whose
name is read from the item).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel

__all__ = ["LLAMA_STACK_CHUNKS", "NAMED_EVENTS", "OPENAI_CHUNKS", "TURN_EVENTS", "Framing", "json_bytes"]

DONE = b"data: [DONE]\n\n"


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_bytes(value: Any) -> bytes:
    """JSON of a pydantic model, a mapping or a list (nested models included)."""
    if isinstance(value, BaseModel):
        return value.model_dump_json().encode()
    return orjson.dumps(value, default=_default)


def _data(item: Any) -> bytes:
    body = bytes(item) if isinstance(item, bytes | bytearray) else json_bytes(item)
    return b"data: " + body + b"\n\n"


def _named(item: Any) -> bytes:
    name = item.get("type") if isinstance(item, Mapping) else getattr(item, "type", None)
    if not isinstance(name, str) or not name or "\n" in name:
        raise TypeError(f"a named-event stream item needs a string 'type', got {type(item).__name__}")
    return b"event: " + name.encode() + b"\n" + _data(item)


def _named_error(body: Mapping[str, Any]) -> bytes:
    error = body.get("error") or {}
    event = {"type": "error", **{k: error.get(k) for k in ("code", "message", "param")}}
    return b"event: error\n" + _data(event)


@dataclass(frozen=True)
class Framing:
    """How a stream is framed: ``event(item)`` gives the bytes of one event, ``error(body)`` those
    of the error event ending a failed stream (``body``: the OpenAI-shaped error,
    ``{"error": {"message", "type", "param", "code"}}``), and ``end`` follows the last item of a
    stream that did not fail. ``relay``, if set, adapts an already-framed OpenAI chunk stream (a
    provider's ``SSEStream``) to this framing; without it such a stream is relayed as it is."""

    name: str
    event: Callable[[Any], bytes]
    error: Callable[[Mapping[str, Any]], bytes]
    end: bytes = b""
    relay: Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]] | None = None


def _done_prefix(data: bytes) -> int:
    """How many trailing bytes of ``data`` could be the start of a ``[DONE]`` event."""
    for k in range(min(len(DONE) - 1, len(data)), 0, -1):
        if data.endswith(DONE[:k]):
            return k
    return 0


async def _without_done(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Relay OpenAI chunk events as they arrive, dropping the ``data: [DONE]`` event. Only bytes
    that may begin that event are held back (never an event's own end, ``\n\n``)."""
    held = b""
    try:
        async for chunk in chunks:
            data = held + chunk
            at = data.find(DONE)
            if at >= 0:
                if at:
                    yield data[:at]
                return
            keep = _done_prefix(data)
            held = data[len(data) - keep :]
            if len(data) > keep:
                yield data[: len(data) - keep]
        if held:
            yield held
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


OPENAI_CHUNKS = Framing("openai-chunks", _data, _data, DONE)
LLAMA_STACK_CHUNKS = Framing("llama-stack-chunks", _data, _data, relay=_without_done)
NAMED_EVENTS = Framing("named-events", _named, _named_error)
TURN_EVENTS = Framing("turn-events", _data, _data)
