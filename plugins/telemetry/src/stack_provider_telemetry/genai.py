"""A provider call as a GenAI client span (semantic conventions for generative AI).

Every call the kernel makes to a provider gets a span named ``{operation} {model or resource}``
(``chat llama-3``, ``retrieval docs``, ``execute_tool web_search``) with ``gen_ai.operation.name``,
``gen_ai.provider.name``, the request's model and parameters and, from the reply, the response
model, finish reasons and token usage; streams add ``gen_ai.response.time_to_first_chunk`` and
the span ends with the stream. The same observation feeds the GenAI metrics and the request's
access-log fields. The call's upstream HTTP requests carry the span's ``traceparent``.

A streamed reply is observed as it passes, never buffered: an already-framed SSE stream is
scanned per chunk for the model and finish reasons (a regex over the bytes) and parsed only in
the event that carries ``usage``; a stream of chunk objects is read field by field. Prompts and
replies are recorded only with ``telemetry.capture_content``.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from stack_core import ProviderCall, ProviderError, SSEStream, outbound_headers

from . import metrics as m
from .runtime import RequestScope

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
MODEL = re.compile(rb'"model":\s*"([^"\\]*)"')
FINISH = re.compile(rb'"finish_reason":\s*"([^"\\]*)"')
USAGE = re.compile(rb'"usage":\s*(\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\})')
MAX_TAIL = 1 << 20


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
        "tail",
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
        self.tail = b""
        self.span = self._start(call, operation, provider, target) if request.runtime.tracing else None
        self.began = time.perf_counter()

    def _start(self, call: ProviderCall, operation: str, provider: str, target: str) -> trace.Span:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": provider,
            "stack.api": call.api,
            "stack.provider.id": call.provider_id,
        }
        request = call.request
        if call.api == "inference":
            attributes["gen_ai.request.model"] = target
            for name in REQUEST_PARAMS:
                value = _get(request, name)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    attributes[f"gen_ai.request.{name}"] = value
            attributes["gen_ai.request.stream"] = bool(_get(request, "stream"))
        elif operation == "execute_tool":
            attributes["gen_ai.tool.name"] = target
        elif target:
            attributes["gen_ai.data_source.id" if operation == "retrieval" else "stack.resource.id"] = target
        if self.request.runtime.config.capture_content:
            messages = _get(request, "messages")
            if messages is not None:
                attributes["gen_ai.input.messages"] = orjson.dumps(messages, default=_json_default).decode()
        name = f"{operation} {target}" if target else operation
        return self.request.runtime.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)

    async def run(self, awaitable: Awaitable[Any]) -> Any:
        span = self.span
        if span is None:
            return self._observed(await self._plain(awaitable))
        context = span.get_span_context()
        parent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
        attached = otel_context.attach(trace.set_span_in_context(span))
        headers = outbound_headers.set((("traceparent", parent),))
        try:
            result = await self._plain(awaitable)
        finally:
            outbound_headers.reset(headers)
            otel_context.detach(attached)
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
        try:
            async for chunk in chunks:
                if self.first is None:
                    self.first = time.perf_counter()
                self._scan(chunk)
                yield chunk
        except Exception as exc:
            error = exc
            raise
        finally:
            await _close(chunks)
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

    def _scan(self, chunk: bytes) -> None:
        """Read whole SSE events of the stream so far: model, finish reasons, usage."""
        data = self.tail + chunk if self.tail else chunk
        cut = data.rfind(b"\n\n")
        if cut < 0:
            self.tail = data if len(data) < MAX_TAIL else b""
            return
        events, self.tail = data[:cut], data[cut + 2 :]
        self._read_bytes(events)

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
                    self.span.set_attribute("gen_ai.output.messages", orjson.dumps(choices).decode())
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
        if span is None:
            return
        attributes: dict[str, Any] = {}
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
            span.set_status(Status(StatusCode.ERROR, str(error)[:200]))
        span.set_attributes(attributes)
        span.end()

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
