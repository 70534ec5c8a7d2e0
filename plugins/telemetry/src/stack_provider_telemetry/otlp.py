"""``remote::otlp``: exports the server's spans (and metrics) over OTLP/HTTP, and stores nothing.

Spans go through the SDK's batch processor: a background thread sends them, so a slow or dead
receiver never delays a request; what it cannot deliver (after the exporter's retries, within
``timeout``) is dropped and counted in ``stack_telemetry_spans_dropped_total{sink="<provider id>"}``.
Queries answer 400: there is nothing here to query (configure ``inline::sqlite`` beside it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

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
    Span,
    Spans,
    SpanTree,
    Trace,
    Traces,
)

from .config import OtlpTelemetryConfig

__all__ = ["CountingExporter", "OtlpTelemetry", "create_provider"]


class CountingExporter(SpanExporter):
    """An exporter that reports the spans its inner exporter failed to deliver."""

    def __init__(self, inner: SpanExporter, dropped: Callable[[int], None]) -> None:
        self.inner, self.dropped = inner, dropped

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self.dropped(len(spans))
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class OtlpTelemetry:
    def __init__(self, config: OtlpTelemetryConfig) -> None:
        self.config = config
        self.headers = {k: v.get_secret_value() for k, v in config.headers.items()}
        self.where = config.endpoint or "the OTLP endpoint of OTEL_EXPORTER_OTLP_*"
        self.processors: list[SpanProcessor] = []
        self.readers: list[MetricReader] = []

    def _url(self, signal: str) -> str | None:
        return f"{self.config.endpoint.rstrip('/')}/v1/{signal}" if self.config.endpoint else None

    def span_processor(self, dropped: Callable[[int], None]) -> SpanProcessor:
        config = self.config
        exporter = OTLPSpanExporter(
            endpoint=self._url("traces"), headers=self.headers or None, timeout=config.timeout
        )
        processor = BatchSpanProcessor(
            CountingExporter(exporter, dropped),
            max_queue_size=config.max_queue_size,
            schedule_delay_millis=config.schedule_delay * 1000,
            export_timeout_millis=config.timeout * 1000,
        )
        self.processors.append(processor)
        return processor

    def metric_reader(self) -> MetricReader | None:
        if not self.config.export_metrics:
            return None
        exporter = OTLPMetricExporter(
            endpoint=self._url("metrics"), headers=self.headers or None, timeout=self.config.timeout
        )
        reader = PeriodicExportingMetricReader(
            exporter, export_interval_millis=self.config.metric_interval * 1000
        )
        self.readers.append(reader)
        return reader

    async def shutdown(self) -> None:
        def close() -> None:
            for processor in self.processors:
                processor.shutdown()
            for reader in self.readers:
                reader.shutdown(timeout_millis=self.config.timeout * 1000)

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


def create_provider(config: OtlpTelemetryConfig, context: ProviderContext) -> OtlpTelemetry:
    return OtlpTelemetry(config)
