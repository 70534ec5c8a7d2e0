"""``remote::otlp``: exports the server's spans (and metrics) over OTLP/HTTP, and stores nothing.

Ending a span appends its record to a bounded queue (O(1), on the request path); one background
thread wakes every ``schedule_delay``, encodes the queue as OTLP protobuf in batches of
``BATCH`` spans and posts them (the GIL is free while it waits on the receiver), and every
``metric_interval`` exports the server's metrics (read from the Prometheus registry, converted
there). A slow or dead receiver never delays a request; what cannot be delivered (after retries,
within ``timeout``) or does not fit the queue is dropped and counted in
``stack_telemetry_spans_dropped_total{sink="<provider id>"}``. Queries answer 400: there is
nothing here to query (configure ``inline::sqlite`` beside it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from stack_core import ProviderContext, UnsupportedError
from stack_core.apis.telemetry import (
    GetSpanRequest,
    GetSpanTreeRequest,
    GetTraceRequest,
    LogEventRequest,
    QueryMetricsRequest,
    QueryMetricsResponse,
    QuerySpansRequest,
    QueryTracesRequest,
    SaveSpansToDatasetRequest,
    Span,
    Spans,
    SpanTree,
    Trace,
    Traces,
)

from .config import OtlpTelemetryConfig
from .spans import Feed, SpanRecord
from .wire import encode_spans

__all__ = ["OtlpTelemetry", "create_provider"]

log = logging.getLogger("stack.telemetry")
BATCH = 512
RETRYABLE = frozenset({408, 429, 502, 503, 504})


def _headers(configured: Mapping[str, str]) -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`` (``k=v,k2=v2``), then the config's."""
    from urllib.parse import unquote

    raw = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or os.environ.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    headers = {}
    for pair in raw.split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            headers[unquote(key.strip()).lower()] = unquote(value.strip())
    return {**headers, **configured, "content-type": "application/x-protobuf"}


def _traces_url(endpoint: str | None) -> str:
    if endpoint:
        return f"{endpoint.rstrip('/')}/v1/traces"
    full = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if full:
        return full
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
    return f"{base.rstrip('/')}/v1/traces"


class Exporter:
    """The queue and the thread that empties it (spans, and metrics when ``metrics`` is given)."""

    def __init__(self, config: OtlpTelemetryConfig, headers: Mapping[str, str], feed: Feed) -> None:
        import requests

        self.config, self.feed = config, feed
        self.url, self.headers = _traces_url(config.endpoint), _headers(headers)
        self.session = requests.Session()
        self.queue: deque[SpanRecord] = deque()
        self.limit = config.max_queue_size
        self.metrics: Any = None
        if config.export_metrics:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            url = f"{config.endpoint.rstrip('/')}/v1/metrics" if config.endpoint else None
            self.metrics = OTLPMetricExporter(
                endpoint=url, headers=dict(headers) or None, timeout=config.timeout
            )
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="stack-otlp-export", daemon=True)
        self.thread.start()

    def add(self, span: SpanRecord) -> None:
        """Queue one ended span (the request path: O(1), never blocks)."""
        if len(self.queue) < self.limit:
            self.queue.append(span)
        else:
            self.feed.dropped(1)

    def _run(self) -> None:
        delay, interval = self.config.schedule_delay, self.config.metric_interval
        next_metrics = time.monotonic() + interval
        while not self.stopping.wait(min(delay, max(0.0, next_metrics - time.monotonic()))):
            try:
                self.send_spans()
                if self.metrics is not None and time.monotonic() >= next_metrics:
                    next_metrics = time.monotonic() + interval
                    self.send_metrics()
            except Exception:  # the exporter thread must outlive a bad batch
                log.exception("telemetry: OTLP export failed")

    def send_spans(self) -> None:
        """Post what is queued, ``BATCH`` spans per request."""
        queue = self.queue
        while queue:
            batch = [queue.popleft() for _ in range(min(BATCH, len(queue)))]
            if not self._post(encode_spans(batch, self.feed.resource)):
                self.feed.dropped(len(batch))

    def _post(self, body: bytes) -> bool:
        import requests

        deadline, backoff = time.monotonic() + self.config.timeout, 0.1
        while True:
            left = deadline - time.monotonic()
            try:
                reply = self.session.post(self.url, data=body, headers=self.headers, timeout=max(left, 0.01))
                if reply.ok:
                    return True
                if reply.status_code not in RETRYABLE:
                    return False
            except requests.RequestException:
                pass
            if self.stopping.is_set() or time.monotonic() + backoff >= deadline:
                return False
            time.sleep(backoff)
            backoff *= 2

    def send_metrics(self) -> None:
        self.metrics.export(self.feed.metrics(), timeout_millis=self.config.timeout * 1000)

    def shutdown(self) -> None:
        self.stopping.set()
        self.thread.join(self.config.timeout + 1)
        try:
            self.send_spans()
            if self.metrics is not None:
                self.send_metrics()
                self.metrics.shutdown()
        except Exception:
            log.exception("telemetry: OTLP export at shutdown failed")
        self.session.close()


class OtlpTelemetry:
    def __init__(self, config: OtlpTelemetryConfig) -> None:
        self.config = config
        self.headers = {k: v.get_secret_value() for k, v in config.headers.items()}
        self.where = config.endpoint or "the OTLP endpoint of OTEL_EXPORTER_OTLP_*"
        self.exporters: list[Exporter] = []

    def attach(self, feed: Feed) -> Callable[[SpanRecord], None]:
        exporter = Exporter(self.config, self.headers, feed)
        self.exporters.append(exporter)
        return exporter.add

    async def shutdown(self) -> None:
        def close() -> None:
            for exporter in self.exporters:
                exporter.shutdown()

        await asyncio.to_thread(close)

    def _refuse(self) -> UnsupportedError:
        return UnsupportedError(
            f"The remote::otlp telemetry provider exports spans to {self.where} and keeps none to query; "
            "add an inline::sqlite telemetry provider to query traces, spans, events and metrics."
        )

    async def log_event(self, request: LogEventRequest) -> None:
        raise self._refuse()

    async def query_traces(self, request: QueryTracesRequest) -> Traces:
        raise self._refuse()

    async def get_trace(self, request: GetTraceRequest) -> Trace:
        raise self._refuse()

    async def get_span(self, request: GetSpanRequest) -> Span:
        raise self._refuse()

    async def get_span_tree(self, request: GetSpanTreeRequest) -> SpanTree:
        raise self._refuse()

    async def query_spans(self, request: QuerySpansRequest) -> Spans:
        raise self._refuse()

    async def query_metrics(self, request: QueryMetricsRequest) -> QueryMetricsResponse:
        raise self._refuse()

    async def save_spans_to_dataset(self, request: SaveSpansToDatasetRequest) -> None:
        raise self._refuse()


def create_provider(config: OtlpTelemetryConfig, context: ProviderContext) -> OtlpTelemetry:
    return OtlpTelemetry(config)
