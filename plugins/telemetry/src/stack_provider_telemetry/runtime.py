"""One stack's telemetry: its spans (``SpanRecord``s handed to the telemetry API's providers, the
sinks), its metrics, and the server span of every HTTP request.

The server span is named ``{method} {route template}`` and carries the route, status, request
id and the principal's hash (``user.hash``); a caller's W3C ``traceparent`` makes it a child of
the caller's span. It is current (``CURRENT_SPAN``) for the request, so provider-call spans
(``genai``) are its children and upstream calls carry their own ``traceparent``. Each span records
its owner (the request's user) for the sinks that store spans.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stack_core import TelemetryConfig, hashed_principal, route_template

from . import metrics as m
from .spans import (
    CURRENT_SPAN,
    SERVER,
    Feed,
    Sampler,
    SpanRecord,
    SpanSink,
    new_span_id,
    new_trace_id,
    parse_traceparent,
)
from .state import ACTIVE

__all__ = ["RequestScope", "SpanSink", "Telemetry"]

TRACEPARENT = b"traceparent"
MAX_HASHES = 4096


@dataclass(slots=True)
class RequestScope:
    """What the provider-call wrapper needs of the request it runs in."""

    runtime: Telemetry
    fields: dict[str, object] = field(default_factory=dict)


def _status_of(exc: BaseException) -> int:
    status = getattr(exc, "status_code", 500)
    return status if isinstance(status, int) else 500


def _resource(config: TelemetryConfig) -> dict[str, Any]:
    """The resource's attributes as the SDK builds them (``OTEL_RESOURCE_ATTRIBUTES``, the SDK's
    own), with our service name; built once."""
    from opentelemetry.sdk.resources import Resource

    name = config.service_name or os.environ.get("OTEL_SERVICE_NAME") or "stack"
    return dict(Resource.create({"service.name": name}).attributes)


class Telemetry:
    """Built once per stack from its ``telemetry`` config, its sinks and its providers (id →
    provider name, the ``gen_ai.provider.name`` of their spans)."""

    def __init__(
        self, config: TelemetryConfig, sinks: Mapping[str, SpanSink], providers: Mapping[str, str]
    ) -> None:
        self.config, self.providers = config, dict(providers)
        self.instruments = m.Instruments()
        self.resource = _resource(config) if sinks else {}
        self.sampler = Sampler.of(config.sampling_ratio)
        self.tracing = bool(sinks)
        self.sinks: tuple[Callable[[SpanRecord], None], ...] = tuple(
            sink.attach(Feed(self.resource, self._dropped_counter(provider_id), self._metrics))
            for provider_id, sink in sinks.items()
        )
        self._hashes: dict[str, str] = {}

    def _metrics(self) -> Any:
        return self.instruments.snapshot(self.resource)

    def _dropped_counter(self, sink: str) -> Callable[[int], None]:
        def dropped(n: int) -> None:
            self.instruments.record(m.SPANS_DROPPED, n, (sink,))

        return dropped

    def end(self, span: SpanRecord) -> None:
        """End ``span`` now and hand it to every sink (when sampled)."""
        span.end_ns = time.time_ns()
        if span.sampled:
            for sink in self.sinks:
                sink(span)

    def user_hash(self, principal: str) -> str:
        """``hashed_principal``, remembered per principal (SHA-256 per request adds up)."""
        hashed = self._hashes.get(principal)
        if hashed is None:
            hashed = hashed_principal(principal)
            if len(self._hashes) >= MAX_HASHES:
                self._hashes.clear()
            self._hashes[principal] = hashed
        return hashed

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request under a server span, recording the HTTP metrics."""
        state = scope["state"]
        fields: dict[str, object] = state.get("log_fields", {})
        method: str = scope["method"]
        span = self._server_span(scope, method, state.get("request_id", "")) if self.tracing else None
        current = CURRENT_SPAN.set(span) if span is not None else None
        if span is not None:
            fields["trace_id"] = f"{span.trace_id:032x}"
        request = ACTIVE.set(RequestScope(self, fields))
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        record = self.instruments.record
        record(m.IN_FLIGHT, 1)
        began = time.perf_counter()
        try:
            await app(scope, receive, sending)
        except BaseException as exc:
            status = _status_of(exc)
            raise
        finally:
            seconds = time.perf_counter() - began
            route = route_template(scope) or "unmatched"
            labels = (method, route, str(status))
            record(m.IN_FLIGHT, -1)
            record(m.REQUESTS, 1, labels)
            record(m.REQUEST_DURATION, seconds, labels)
            if fields.get("rejected") == "quota":
                record(m.QUOTA_REJECTIONS, 1)
            ACTIVE.reset(request)
            if span is not None and current is not None:
                CURRENT_SPAN.reset(current)
                self._end_server_span(span, scope, method, route, status)

    def _server_span(self, scope: Scope, method: str, request_id: str) -> SpanRecord:
        parent = None
        for key, value in scope["headers"]:
            if key == TRACEPARENT:
                parent = parse_traceparent(value.decode("latin-1"))
                break
        if parent is not None:
            trace_id, parent_id, parent_sampled = parent
        else:
            trace_id, parent_id, parent_sampled = new_trace_id(), 0, None
        sampled = self.sampler.sampled(trace_id, parent_sampled)
        attributes: dict[str, Any] = (
            {"http.request.method": method, "url.path": scope["path"], "stack.request_id": request_id}
            if sampled
            else {}
        )
        return SpanRecord(
            trace_id, new_span_id(), parent_id, parent is not None, sampled, method, SERVER,
            time.time_ns(), attributes,
        )  # fmt: skip

    def _end_server_span(self, span: SpanRecord, scope: Scope, method: str, route: str, status: int) -> None:
        if not span.sampled:
            return
        span.name = f"{method} {route}"
        attributes = span.attributes
        attributes["http.route"] = route
        attributes["http.response.status_code"] = status
        user = scope["state"].get("user")
        if user is not None:
            attributes["user.hash"] = self.user_hash(user.principal)
        if status >= 500:
            span.error = ""
            attributes["error.type"] = str(status)
        span.owner = user  # sinks that store spans record their owner: the request's user
        self.end(span)


def build(stack: Any) -> Telemetry | None:
    """The stack's runtime (None when ``telemetry.enabled`` is false), registered for its
    middleware to find."""
    from .state import RUNTIMES

    config: TelemetryConfig = stack.config.telemetry
    if not config.enabled:
        return None
    instances = stack.instances()
    sinks = {
        i.provider_id: i.impl for i in instances if i.api == "telemetry" and isinstance(i.impl, SpanSink)
    }
    providers = {i.provider_id: i.provider_type.split("::", 1)[-1] for i in instances}
    runtime = RUNTIMES[stack] = Telemetry(config, sinks, providers)
    return runtime
