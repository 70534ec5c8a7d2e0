"""The server's metrics, each declared once and recorded into both pipelines.

``/metrics`` is served by ``prometheus-client`` (stable names of our choosing, ``_total`` counters,
``_seconds`` durations, multiprocess mode); a sink that exports metrics (OTLP) converts the same
values, in its own thread, to OpenTelemetry data of the GenAI / HTTP semantic-convention names. The
Prometheus names follow the OTel → Prometheus rule (dots → underscores, unit suffix), so a
dashboard reads the same series from either.

With several Hypercorn workers, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by
the workers: ``/metrics`` then aggregates every worker's values (prometheus-client's multiprocess
mode); without it each worker answers with its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import prometheus_client as prom
from prometheus_client.multiprocess import MultiProcessCollector

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricsData

__all__ = ["Instruments", "Metric", "exposition"]

Kind = Literal["counter", "histogram", "updown", "gauge"]
# the GenAI spec's buckets: token counts in powers of 4; durations in seconds
TOKEN_BUCKETS = tuple(4.0**i for i in range(14))
SECONDS_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a cheap key per record()
class Metric:
    """One metric: its OTel name and unit, its Prometheus name, kind, labels and buckets."""

    otel: str
    prometheus: str
    kind: Kind
    description: str
    labels: tuple[str, ...] = ()
    unit: str = ""
    buckets: tuple[float, ...] = SECONDS_BUCKETS


GENAI = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")
HTTP = ("http_request_method", "http_route", "http_response_status_code")

REQUESTS = Metric(
    "stack.requests", "stack_requests_total", "counter", "HTTP requests by route and status.", HTTP
)
REQUEST_DURATION = Metric(
    "http.server.request.duration",
    "http_server_request_duration_seconds",
    "histogram",
    "Duration of HTTP requests (to the last byte of the reply).",
    HTTP,
    "s",
)
IN_FLIGHT = Metric("stack.requests.in_flight", "stack_requests_in_flight", "updown", "Requests being served.")
QUOTA_REJECTIONS = Metric(
    "stack.quota.rejections",
    "stack_quota_rejections_total",
    "counter",
    "Requests refused by the quota (429).",
)
TOKENS = Metric(
    "gen_ai.client.token.usage",
    "gen_ai_client_token_usage",
    "histogram",
    "Tokens per provider call, by type (input, output).",
    (*GENAI, "gen_ai_token_type"),
    "{token}",
    TOKEN_BUCKETS,
)
OPERATION_DURATION = Metric(
    "gen_ai.client.operation.duration",
    "gen_ai_client_operation_duration_seconds",
    "histogram",
    "Duration of provider calls (for streams: to the last chunk).",
    (*GENAI, "error_type"),
    "s",
)
TIME_TO_FIRST_CHUNK = Metric(
    "gen_ai.client.operation.time_to_first_chunk",
    "gen_ai_client_operation_time_to_first_chunk_seconds",
    "histogram",
    "Time from a streamed provider call to its first chunk.",
    GENAI,
    "s",
)
PROVIDER_UP = Metric(
    "stack.provider.up",
    "stack_provider_up",
    "gauge",
    "1 when a provider's last call succeeded, 0 when its backend failed (5xx, unreachable, timeout).",
    ("api", "provider_id"),
)
SPANS_DROPPED = Metric(
    "stack.telemetry.spans.dropped",
    "stack_telemetry_spans_dropped_total",
    "counter",
    "Spans a sink could not deliver (receiver down, queue full); requests never wait for sinks.",
    ("sink",),
)
METRICS = (
    REQUESTS,
    REQUEST_DURATION,
    IN_FLIGHT,
    QUOTA_REJECTIONS,
    TOKENS,
    OPERATION_DURATION,
    TIME_TO_FIRST_CHUNK,
    PROVIDER_UP,
    SPANS_DROPPED,
)


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def _prometheus(metric: Metric, registry: prom.CollectorRegistry) -> Any:
    name, doc, labels = metric.prometheus, metric.description, metric.labels
    if metric.kind == "counter":
        return prom.Counter(name.removesuffix("_total"), doc, labels, registry=registry)
    if metric.kind == "histogram":
        return prom.Histogram(name, doc, labels, registry=registry, buckets=metric.buckets)
    if metric.kind == "updown":
        return prom.Gauge(name, doc, labels, registry=registry, multiprocess_mode="livesum")
    return prom.Gauge(name, doc, labels, registry=registry, multiprocess_mode="mostrecent")


class Instruments:
    """Every metric, recorded with ``record(metric, value, labels)`` into prometheus-client; a
    sink exporting metrics (OTLP) reads them with ``snapshot`` in its own thread, so a request
    pays for one Prometheus update per measurement and nothing for OpenTelemetry."""

    def __init__(self) -> None:
        self.registry = prom.CollectorRegistry(auto_describe=True)
        self.collectors = {m: _prometheus(m, self.registry) for m in METRICS}
        self._update: dict[tuple[Metric, Sequence[str]], Callable[[float], None]] = {}
        self.started_ns = time.time_ns()

    def record(self, metric: Metric, value: float, labels: Sequence[str] = ()) -> None:
        update = self._update.get((metric, labels))
        if update is None:
            update = self._bind(metric, labels)
        update(value)

    def _bind(self, metric: Metric, labels: Sequence[str]) -> Callable[[float], None]:
        """The child's update method, kept: prometheus-client's ``labels()`` costs a lock and a
        few checks per call."""
        target = self.collectors[metric].labels(*labels) if labels else self.collectors[metric]
        kind = metric.kind
        update: Callable[[float], None] = (
            target.observe if kind == "histogram" else target.set if kind == "gauge" else target.inc
        )
        if len(self._update) < MAX_SERIES:
            self._update[(metric, tuple(labels))] = update
        return update

    def snapshot(self, resource: Mapping[str, Any]) -> MetricsData:
        """Every metric's current value as OpenTelemetry data of its OTel name and unit
        (cumulative since start-up)."""
        return otel_snapshot(self, resource)


MAX_SERIES = 10_000


_KEYS: dict[Metric, tuple[str, ...]] = {}


def _otel_keys(metric: Metric) -> tuple[str, ...]:
    """A metric's labels as OTel attribute names (``gen_ai_request_model`` → ``gen_ai.request.model``)."""
    keys = _KEYS.get(metric)
    if keys is None:
        keys = _KEYS[metric] = tuple(OTEL_NAMES.get(label, label) for label in metric.labels)
    return keys


OTEL_NAMES: Mapping[str, str] = {
    "gen_ai_operation_name": "gen_ai.operation.name",
    "gen_ai_provider_name": "gen_ai.provider.name",
    "gen_ai_request_model": "gen_ai.request.model",
    "gen_ai_token_type": "gen_ai.token.type",
    "error_type": "error.type",
    "http_request_method": "http.request.method",
    "http_route": "http.route",
    "http_response_status_code": "http.response.status_code",
}


def exposition(instruments: Instruments) -> tuple[bytes, str]:
    """The ``/metrics`` body and content type: this process's metrics, or every worker's in
    multiprocess mode."""
    if _multiprocess():
        registry = prom.CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return prom.generate_latest(registry), prom.CONTENT_TYPE_LATEST
    return prom.generate_latest(instruments.registry), prom.CONTENT_TYPE_LATEST


def otel_snapshot(instruments: Instruments, resource: Mapping[str, Any]) -> MetricsData:
    """The Prometheus values as OpenTelemetry ``MetricsData``: counters as monotonic sums, the
    in-flight gauge as a non-monotonic sum, gauges as gauges, histograms with their buckets."""
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        Gauge,
        Histogram,
        HistogramDataPoint,
        MetricsData,
        NumberDataPoint,
        ResourceMetrics,
        ScopeMetrics,
        Sum,
    )
    from opentelemetry.sdk.metrics.export import Metric as OtelMetric
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    start, now = instruments.started_ns, time.time_ns()
    cumulative = AggregationTemporality.CUMULATIVE
    metrics: list[OtelMetric] = []
    for metric, collector in instruments.collectors.items():
        keys = _otel_keys(metric)
        points: dict[tuple[str, ...], dict[str, Any]] = {}
        for family in collector.collect():
            for sample in family.samples:
                labels = tuple(sample.labels.get(k, "") for k in metric.labels)
                entry = points.setdefault(labels, {"buckets": []})
                suffix = sample.name[len(family.name) :]
                if suffix == "_bucket":
                    entry["buckets"].append(sample.value)
                elif suffix in ("", "_total", "_sum", "_count"):
                    entry[suffix or "value"] = sample.value
        if not points:
            continue
        data: Any
        if metric.kind == "histogram":
            hist = []
            for labels, entry in points.items():
                totals = entry["buckets"]
                counts = [int(t - p) for t, p in zip(totals, [0.0, *totals[:-1]], strict=True)]
                hist.append(
                    HistogramDataPoint(
                        dict(zip(keys, labels, strict=True)), start, now, int(entry.get("_count", 0)),
                        entry.get("_sum", 0.0), counts, list(metric.buckets), None, None,  # type: ignore[arg-type]
                    )
                )  # fmt: skip
            data = Histogram(hist, cumulative)
        else:
            numbers = [
                NumberDataPoint(
                    dict(zip(keys, labels, strict=True)),
                    start,
                    now,
                    entry.get("_total", entry.get("value", 0.0)),
                )
                for labels, entry in points.items()
            ]
            kind = metric.kind
            data = (
                Sum(numbers, cumulative, kind == "counter")
                if kind in ("counter", "updown")
                else Gauge(numbers)
            )
        metrics.append(OtelMetric(metric.otel, metric.description, metric.unit, data))
    scope = ScopeMetrics(InstrumentationScope("stack"), metrics, "")
    return MetricsData([ResourceMetrics(Resource(dict(resource)), [scope], "")])
