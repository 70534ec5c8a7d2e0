"""One stack's telemetry: its tracer (spans go to the telemetry API's providers, the sinks, by
provider id), its metrics, and the server span of every HTTP request.

The server span is named ``{method} {route template}`` and carries the route, status, request
id and the principal's hash (``user.hash``); a caller's W3C ``traceparent`` makes it a child of
the caller's span. It is made current for the request, so provider-call spans (``genai``) are its
children and upstream calls carry their own ``traceparent``. Spans end while the request's user is
current: sinks that store spans record their owner from ``current_user``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stack_core import TelemetryConfig, current_user, hashed_principal, route_template

from . import metrics as m
from .state import ACTIVE

__all__ = ["RequestScope", "SpanSink", "Telemetry"]

PROPAGATOR = TraceContextTextMapPropagator()
TRACE_HEADERS = (b"traceparent", b"tracestate")


@runtime_checkable
class SpanSink(Protocol):
    """A telemetry provider that receives the server's spans (and, optionally, its metrics)."""

    def span_processor(self, dropped: Callable[[int], None]) -> SpanProcessor:
        """The processor spans go through; it calls ``dropped(n)`` for spans it could not deliver.
        It must never block or fail the request that ended the span."""
        ...

    def metric_reader(self) -> MetricReader | None:
        """A reader exporting the server's metrics, or None."""
        ...


@dataclass(slots=True)
class RequestScope:
    """What the provider-call wrapper needs of the request it runs in."""

    runtime: Telemetry
    fields: dict[str, object] = field(default_factory=dict)


def _status_of(exc: BaseException) -> int:
    status = getattr(exc, "status_code", 500)
    return status if isinstance(status, int) else 500


def _resource(config: TelemetryConfig) -> Resource:
    name = config.service_name or os.environ.get("OTEL_SERVICE_NAME") or "stack"
    return Resource.create({"service.name": name})


class Telemetry:
    """Built once per stack from its ``telemetry`` config, its sinks and its providers (id →
    provider name, the ``gen_ai.provider.name`` of their spans)."""

    def __init__(
        self, config: TelemetryConfig, sinks: Mapping[str, SpanSink], providers: Mapping[str, str]
    ) -> None:
        self.config, self.providers = config, dict(providers)
        resource = _resource(config)
        sampler = (
            ParentBased(TraceIdRatioBased(config.sampling_ratio))
            if config.sampling_ratio is not None
            else None
        )
        self.tracer_provider = TracerProvider(resource=resource, sampler=sampler)
        readers = [r for r in (s.metric_reader() for s in sinks.values()) if r is not None]
        self.meter_provider = MeterProvider(resource=resource, metric_readers=readers) if readers else None
        self.instruments = m.Instruments(
            self.meter_provider.get_meter("stack") if self.meter_provider else None
        )
        for provider_id, sink in sinks.items():
            self.tracer_provider.add_span_processor(sink.span_processor(self._dropped_counter(provider_id)))
        self.tracing = bool(sinks)
        self.tracer = self.tracer_provider.get_tracer("stack")

    def _dropped_counter(self, sink: str) -> Callable[[int], None]:
        def dropped(n: int) -> None:
            self.instruments.record(m.SPANS_DROPPED, n, (sink,))

        return dropped

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request under a server span, recording the HTTP metrics."""
        state = scope["state"]
        fields: dict[str, object] = state.get("log_fields", {})
        method: str = scope["method"]
        span = self._server_span(scope, method, state.get("request_id", "")) if self.tracing else None
        attached = otel_context.attach(trace.set_span_in_context(span)) if span is not None else None
        if span is not None:
            fields["trace_id"] = format(span.get_span_context().trace_id, "032x")
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
            if span is not None and attached is not None:
                otel_context.detach(attached)
                self._end_server_span(span, scope, method, route, status)

    def _server_span(self, scope: Scope, method: str, request_id: str) -> trace.Span:
        parent = None
        carrier = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in TRACE_HEADERS
        }
        if carrier:
            parent = PROPAGATOR.extract(carrier)
        attributes = {
            "http.request.method": method,
            "url.path": scope["path"],
            "stack.request_id": request_id,
        }
        return self.tracer.start_span(method, context=parent, kind=SpanKind.SERVER, attributes=attributes)

    def _end_server_span(self, span: trace.Span, scope: Scope, method: str, route: str, status: int) -> None:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        user = scope["state"].get("user")
        if user is not None:
            span.set_attribute("user.hash", hashed_principal(user.principal))
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
            span.set_attribute("error.type", str(status))
        owner = current_user.set(user)  # sinks read the span's owner from the current user
        try:
            span.end()
        finally:
            current_user.reset(owner)


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
