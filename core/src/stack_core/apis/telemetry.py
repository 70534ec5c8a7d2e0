"""The Telemetry API: the server's own traces, spans, events and metrics, with the 0.2 route layout.

``llama-stack-client==0.2.12`` reads these shapes (``client.telemetry.*``). Spans are recorded by
the server itself (the telemetry plugin's OpenTelemetry instrumentation); a provider of this API
serves queries over what it stored, and clients may add their own events (``log_event``). A
provider that only exports (OTLP) refuses queries with a 400 saying where the spans went.
``save_spans_to_dataset`` (``POST /v1/telemetry/spans/export``) appends the spans a query finds to
a registered dataset as rows, through the DatasetIO API in-process (so the dataset's access rules
apply too); a stack without a DatasetIO provider answers it with a 400.

What a query returns is limited to what the current user may read: spans and events are owned
by the user of the request that produced them, under the stack's access policy.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import Field

from ..calls import Handler
from ..errors import UnsupportedError
from ..spec import ApiModel, ApiSpec, Route

if TYPE_CHECKING:
    from ..routing import ApiBinding

__all__ = [
    "TELEMETRY_API",
    "AttributeFilter",
    "GetSpanRequest",
    "GetSpanTreeRequest",
    "GetTraceRequest",
    "LabelMatcher",
    "LogEventRequest",
    "MetricLabel",
    "MetricPoint",
    "MetricSeries",
    "QueryMetricsRequest",
    "QueryMetricsResponse",
    "QuerySpansRequest",
    "QueryTracesRequest",
    "SaveSpansToDatasetRequest",
    "Span",
    "SpanTree",
    "SpanWithStatus",
    "Spans",
    "TelemetryProvider",
    "TelemetryRouter",
    "Trace",
    "Traces",
]

Attributes = dict[str, Any]


class AttributeFilter(ApiModel):
    """``key op value``: a span attribute, or one of the columns ``trace_id``, ``span_id``, ``name``,
    ``start_time``, ``end_time`` (times as ISO 8601 or epoch seconds)."""

    key: str
    op: Literal["eq", "ne", "gt", "lt"]
    value: Any


class Trace(ApiModel):
    trace_id: str
    root_span_id: str
    start_time: datetime
    end_time: datetime | None = None


class Span(ApiModel):
    span_id: str
    trace_id: str
    parent_span_id: str | None = None
    name: str
    start_time: datetime
    end_time: datetime | None = None
    attributes: Attributes | None = None


class SpanWithStatus(Span):
    status: Literal["ok", "error"] | None = None


class Traces(ApiModel):
    data: list[Trace]


class Spans(ApiModel):
    data: list[Span]


class SpanTree(ApiModel):
    data: dict[str, SpanWithStatus]


class QueryTracesRequest(ApiModel):
    attribute_filters: list[AttributeFilter] | None = None
    limit: int = Field(default=100, ge=1, le=10_000)
    offset: int = Field(default=0, ge=0)
    order_by: list[str] | None = Field(
        default=None, description="start_time or end_time, '-' first for descending (default: newest first)."
    )


class GetTraceRequest(ApiModel):
    trace_id: str


class GetSpanRequest(ApiModel):
    trace_id: str
    span_id: str


class GetSpanTreeRequest(ApiModel):
    span_id: str
    attributes_to_return: list[str] | None = None
    max_depth: int | None = None


class QuerySpansRequest(ApiModel):
    attribute_filters: list[AttributeFilter]
    attributes_to_return: list[str]
    max_depth: int | None = None


class SaveSpansToDatasetRequest(ApiModel):
    attribute_filters: list[AttributeFilter]
    attributes_to_save: list[str] = Field(description="Span attributes copied into each row.")
    dataset_id: str = Field(description="A registered dataset; rows are appended after its last row.")
    max_depth: int | None = Field(default=None, description="Also the matched spans' descendants, this deep.")


class LogEventRequest(ApiModel):
    """``event``: an ``unstructured_log`` (message, severity), a ``metric`` (metric, value, unit) or
    a ``structured_log`` (``payload`` ``span_start``/``span_end``), each with trace_id, span_id,
    timestamp and attributes."""

    event: dict[str, Any]
    ttl_seconds: int = Field(default=604_800, ge=1)


class LabelMatcher(ApiModel):
    name: str
    value: str
    operator: Literal["=", "!=", "=~", "!~"] = "="


class QueryMetricsRequest(ApiModel):
    metric_name: str
    start_time: int = Field(description="Epoch seconds.")
    end_time: int | None = None
    granularity: str | None = Field(default="1d", description="Bucket width: 1m, 5m, 1h, 1d, ... (range).")
    query_type: Literal["range", "instant"] = "range"
    label_matchers: list[LabelMatcher] | None = None


class MetricLabel(ApiModel):
    name: str
    value: str


class MetricPoint(ApiModel):
    timestamp: int
    value: float
    unit: str = ""


class MetricSeries(ApiModel):
    metric: str
    labels: list[MetricLabel]
    values: list[MetricPoint]


class QueryMetricsResponse(ApiModel):
    data: list[MetricSeries]


class TelemetryProvider(Protocol):
    """A telemetry sink serving the 0.2 queries over what it stored."""

    async def log_event(self, request: LogEventRequest) -> None: ...

    async def query_traces(self, request: QueryTracesRequest) -> Traces: ...

    async def get_trace(self, request: GetTraceRequest) -> Trace: ...

    async def get_span(self, request: GetSpanRequest) -> Span: ...

    async def get_span_tree(self, request: GetSpanTreeRequest) -> SpanTree: ...

    async def query_spans(self, request: QuerySpansRequest) -> Spans: ...

    async def save_spans_to_dataset(self, request: SaveSpansToDatasetRequest) -> None:
        """Append a row per span ``query_spans`` would return: trace_id, span_id, parent_span_id,
        name, start_time, end_time (ISO 8601) and each of ``attributes_to_save`` (null if absent)."""
        ...

    async def query_metrics(self, request: QueryMetricsRequest) -> QueryMetricsResponse: ...


class TelemetryRouter:
    """Several sinks may serve the API (one stores, another exports): a query goes to the first
    provider, in run-config order, that does not refuse it with ``UnsupportedError``; an event goes
    to every provider that accepts it."""

    def __init__(self, binding: ApiBinding) -> None:
        self.binding = binding

    def handler(self, route: Route) -> Handler:
        handlers = [self.binding.provider_handler(pid, route) for pid in self.binding.providers]
        fan_out = route.name == "log_event"

        async def first_answer(request: Any) -> Any:
            refused: UnsupportedError | None = None
            accepted = False
            for handler in handlers:
                try:
                    answer = await handler(request)
                except UnsupportedError as exc:
                    refused = refused or exc
                    continue
                if not fan_out:
                    return answer
                accepted = True
            if refused is not None and not accepted:
                raise refused
            return None

        return first_answer


TELEMETRY_API = ApiSpec(
    name="telemetry",
    description="The server's own traces, spans, events and metrics (0.2 routes); sinks export them.",
    protocol=TelemetryProvider,
    router=TelemetryRouter,
    routes=(
        Route("POST", "/v1/telemetry/events", "log_event", LogEventRequest, None, summary="Log an event."),
        Route(
            "POST",
            "/v1/telemetry/traces",
            "query_traces",
            QueryTracesRequest,
            Traces,
            summary="Query traces.",
        ),
        Route(
            "GET",
            "/v1/telemetry/traces/{trace_id}",
            "get_trace",
            GetTraceRequest,
            Trace,
            summary="Get a trace.",
        ),
        Route(
            "GET",
            "/v1/telemetry/traces/{trace_id}/spans/{span_id}",
            "get_span",
            GetSpanRequest,
            Span,
            summary="Get a span.",
        ),
        Route(
            "POST",
            "/v1/telemetry/spans/{span_id}/tree",
            "get_span_tree",
            GetSpanTreeRequest,
            SpanTree,
            summary="A span and its descendants, by span id.",
        ),
        Route("POST", "/v1/telemetry/spans", "query_spans", QuerySpansRequest, Spans, summary="Query spans."),
        Route(
            "POST",
            "/v1/telemetry/spans/export",
            "save_spans_to_dataset",
            SaveSpansToDatasetRequest,
            None,
            summary="Append the spans a query finds to a dataset as rows.",
        ),
        Route(
            "POST",
            "/v1/telemetry/metrics/{metric_name}",
            "query_metrics",
            QueryMetricsRequest,
            QueryMetricsResponse,
            summary="A metric's series: logged metric events and the server's token counts.",
        ),
    ),
)
