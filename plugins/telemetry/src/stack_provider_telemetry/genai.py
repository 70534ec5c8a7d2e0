"""A provider call as a GenAI client span (semantic conventions for generative AI).

Every call the kernel makes to a provider gets a span named ``{operation} {model or resource}``
(``chat llama-3``, ``retrieval docs``, ``execute_tool web_search``) with ``gen_ai.operation.name``,
``gen_ai.provider.name``, the request's model and parameters and, from the reply, the response
model, finish reasons and token usage; streams add ``gen_ai.response.time_to_first_chunk`` and
the span ends with the stream. The same observation feeds the GenAI metrics and the request's
access-log fields. The call's upstream HTTP requests carry the span's ``traceparent``.

A streamed reply is observed as it passes, never buffered: per chunk of an already-framed SSE
stream only the time of the first is taken and the chunk added to a window of the stream's last
bytes (``WINDOW``); when the stream ends, that window is scanned (a regex over the bytes) for the
model, finish reasons and ``usage``, which OpenAI-compatible servers send last. A stream of chunk
objects is read field by field. Prompts and
replies are recorded only with ``telemetry.capture_content``.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import orjson

from stack_core import ProviderCall, ProviderError, SSEStream, current_user, outbound_headers

from . import metrics as m
from .runtime import RequestScope
from .spans import CLIENT, CURRENT_SPAN, SpanRecord, new_span_id, new_trace_id

__all__ = ["OPERATIONS", "traced"]

OPERATIONS = {
    "openai_chat_completion": "chat",
    "chat_completion": "chat",
    "openai_completion": "text_completion",
    "completion": "text_completion",
    "openai_embeddings": "embeddings",
    "embeddings": "embeddings",
    "query_chunks": "retrieval",
    "invoke_tool": "execute_tool",
}
REQUEST_PARAMS = ("max_tokens", "temperature", "top_p", "frequency_penalty", "presence_penalty", "seed")
PARAM_KEYS = {name: f"gen_ai.request.{name}" for name in REQUEST_PARAMS}
MODEL = re.compile(rb'"model":\s*"([^"\\]*)"')
FINISH = re.compile(rb'"finish_reason":\s*"([^"\\]*)"')
USAGE = re.compile(rb'"usage":\s*(\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\})')
WINDOW = 64 << 10  # the bytes of a stream's end that are scanned


def _get(item: Any, key: str) -> Any:
    """A field of a dict or a model (its ``__dict__``: a missing attribute of a pydantic model
    costs an exception)."""
    fields = item if isinstance(item, dict) else getattr(item, "__dict__", None)
    return fields.get(key) if fields is not None else getattr(item, key, None)


def _target(call: ProviderCall) -> str:
    if call.resource is not None:
        return call.resource.identifier
    for key in ("tool_name", "model", "vector_db_id", "shield_id"):
        value = _get(call.request, key)
        if isinstance(value, str):
            return value
    return ""


class _Observation:
    """One provider call: its span, timing and what its reply said."""

    __slots__ = (
        "began",
        "finish_reasons",
        "first",
        "input_tokens",
        "labels",
        "output_tokens",
        "request",
        "response_model",
        "span",
        "where",
    )

    def __init__(self, request: RequestScope, call: ProviderCall) -> None:
        self.request = request
        operation = OPERATIONS.get(call.method, call.method)
        target = _target(call)
        provider = request.runtime.providers.get(call.provider_id, call.provider_id)
        self.labels = (operation, provider, target)
        self.where = (call.api, call.provider_id)
        self.first: float | None = None
        self.response_model: str | None = None
        self.finish_reasons: set[str] = set()
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.span = self._start(call, operation, provider, target) if request.runtime.tracing else None
        self.began = time.perf_counter()

    def _start(self, call: ProviderCall, operation: str, provider: str, target: str) -> SpanRecord:
        runtime = self.request.runtime
        parent = CURRENT_SPAN.get()
        if parent is None:
            trace_id, parent_id = new_trace_id(), 0
            sampled = runtime.sampler.sampled(trace_id, None)
        else:
            trace_id, parent_id, sampled = parent.trace_id, parent.span_id, parent.sampled
        name = f"{operation} {target}" if target else operation
        attributes = self._attributes(call, operation, provider, target) if sampled else {}
        return SpanRecord(
            trace_id, new_span_id(), parent_id, False, sampled, name, CLIENT, time.time_ns(), attributes
        )

    def _attributes(self, call: ProviderCall, operation: str, provider: str, target: str) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": provider,
            "stack.api": call.api,
            "stack.provider.id": call.provider_id,
        }
        request = call.request
        if call.api == "inference":
            attributes["gen_ai.request.model"] = target
            fields = request if isinstance(request, dict) else getattr(request, "__dict__", None)
            for name in REQUEST_PARAMS:
                value = fields.get(name) if fields is not None else getattr(request, name, None)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    attributes[PARAM_KEYS[name]] = value
            attributes["gen_ai.request.stream"] = bool(_get(request, "stream"))
        elif operation == "execute_tool":
            attributes["gen_ai.tool.name"] = target
        elif target:
            attributes["gen_ai.data_source.id" if operation == "retrieval" else "stack.resource.id"] = target
        if self.request.runtime.config.capture_content:
            messages = _get(request, "messages")
            if messages is not None:
                attributes["gen_ai.input.messages"] = orjson.dumps(messages, default=_json_default).decode()
        return attributes

    async def run(self, awaitable: Awaitable[Any]) -> Any:
        span = self.span
        if span is None:
            return self._observed(await self._plain(awaitable))
        current = CURRENT_SPAN.set(span)
        headers = outbound_headers.set((("traceparent", span.traceparent()),))
        try:
            result = await self._plain(awaitable)
        finally:
            outbound_headers.reset(headers)
            CURRENT_SPAN.reset(current)
        return self._observed(result)

    async def _plain(self, awaitable: Awaitable[Any]) -> Any:
        try:
            return await awaitable
        except BaseException as exc:
            self.finish(exc)
            raise

    def _observed(self, result: Any) -> Any:
        if isinstance(result, SSEStream):
            return SSEStream(self._watch_bytes(result.chunks))
        if hasattr(result, "__aiter__"):
            return self._watch_items(result)
        self._read_reply(result)
        self.finish(None)
        return result

    async def _watch_bytes(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        error: BaseException | None = None
        window = bytearray()
        try:
            async for chunk in chunks:
                if self.first is None:
                    self.first = time.perf_counter()
                window += chunk
                if len(window) > 2 * WINDOW:
                    del window[:-WINDOW]
                yield chunk
        except Exception as exc:
            error = exc
            raise
        finally:
            await _close(chunks)
            self._read_bytes(bytes(window))
            self.finish(error)

    async def _watch_items(self, items: AsyncIterator[Any]) -> AsyncIterator[Any]:
        error: BaseException | None = None
        try:
            async for item in items:
                if self.first is None:
                    self.first = time.perf_counter()
                self._read_item(item)
                yield item
        except Exception as exc:
            error = exc
            raise
        finally:
            await _close(items)
            self.finish(error)

    def _read_bytes(self, data: bytes) -> None:
        if self.response_model is None:
            found = MODEL.search(data)
            if found:
                self.response_model = found.group(1).decode()
        if b'"finish_reason"' in data:
            self.finish_reasons.update(r.decode() for r in FINISH.findall(data))
        if b'"usage"' in data:
            for usage in USAGE.findall(data):
                self._usage(orjson.loads(usage))

    def _read_reply(self, result: Any) -> None:
        if isinstance(result, bytes):
            self._read_bytes(result)
            if self.request.runtime.config.capture_content and self.span is not None:
                choices = orjson.loads(result).get("choices") if result[:1] == b"{" else None
                if choices:
                    self.span.attributes["gen_ai.output.messages"] = orjson.dumps(choices).decode()
        elif result is not None:
            self._read_item(result)

    def _read_item(self, item: Any) -> None:
        if self.response_model is None:
            model = _get(item, "model")
            if isinstance(model, str):
                self.response_model = model
        for choice in _get(item, "choices") or ():
            reason = _get(choice, "finish_reason")
            if isinstance(reason, str):
                self.finish_reasons.add(reason)
        usage = _get(item, "usage")
        if usage is not None:
            self._usage(usage)

    def _usage(self, usage: Any) -> None:
        prompt, completion = _get(usage, "prompt_tokens"), _get(usage, "completion_tokens")
        if isinstance(prompt, int):
            self.input_tokens = prompt
        if isinstance(completion, int):
            self.output_tokens = completion

    def finish(self, error: BaseException | None) -> None:
        """Record the call's metrics and log fields and end its span."""
        seconds = time.perf_counter() - self.began
        record, labels = self.request.runtime.instruments.record, self.labels
        error_type = type(error).__name__ if isinstance(error, Exception) else ""
        record(m.OPERATION_DURATION, seconds, (*labels, error_type))
        record(m.PROVIDER_UP, 0 if isinstance(error, ProviderError) else 1, self.where)
        if self.input_tokens is not None:
            record(m.TOKENS, self.input_tokens, (*labels, "input"))
        if self.output_tokens is not None:
            record(m.TOKENS, self.output_tokens, (*labels, "output"))
        ttfc = self.first - self.began if self.first is not None else None
        if ttfc is not None:
            record(m.TIME_TO_FIRST_CHUNK, ttfc, labels)
        self._log_fields()
        span = self.span
        if span is None or not span.sampled:
            return
        attributes = span.attributes
        if self.response_model is not None:
            attributes["gen_ai.response.model"] = self.response_model
        if self.finish_reasons:
            attributes["gen_ai.response.finish_reasons"] = sorted(self.finish_reasons)
        if self.input_tokens is not None:
            attributes["gen_ai.usage.input_tokens"] = self.input_tokens
        if self.output_tokens is not None:
            attributes["gen_ai.usage.output_tokens"] = self.output_tokens
        if ttfc is not None:
            attributes["gen_ai.response.time_to_first_chunk"] = ttfc
        if error_type:
            attributes["error.type"] = error_type
            span.error = str(error)[:200]
        span.owner = current_user.get()
        self.request.runtime.end(span)

    def _log_fields(self) -> None:
        fields = self.request.fields
        if self.labels[0] in ("chat", "text_completion", "embeddings"):
            fields["model"] = self.labels[2]
        for key, value in (("input_tokens", self.input_tokens), ("output_tokens", self.output_tokens)):
            if value is not None:
                previous = fields.get(key)
                fields[key] = value + previous if isinstance(previous, int) else value


def _json_default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    raise TypeError(type(value).__name__)


async def _close(stream: Any) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


def traced(request: RequestScope, call: ProviderCall, awaitable: Awaitable[Any]) -> Awaitable[Any]:
    """``awaitable`` (the provider call) observed: its reply, or its stream, passes through."""
    return _Observation(request, call).run(awaitable)
