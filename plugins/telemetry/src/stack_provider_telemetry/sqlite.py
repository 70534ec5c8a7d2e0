"""``inline::sqlite``: stores the server's spans and client events, and answers the Telemetry API.

Every answer is limited to what the current user may read under the stack's access policy:
a trace, span or event is owned by the user of the request that produced it (by default only
they, and users sharing an attribute value with them, see it; an access rule such as ``permit:
{principal: admin, actions: [read]}`` grants more). ``query_metrics`` answers from logged metric
events and, for ``prompt_tokens``, ``completion_tokens`` and ``total_tokens`` (the 0.2 names),
from the token usage on the server's own GenAI spans.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Row, insert, select, update

from stack_core import (
    BadRequestError,
    Database,
    DatasetIOClient,
    NotFoundError,
    ProviderContext,
    StoreConfig,
    User,
    current_user,
)
from stack_core.apis.telemetry import (
    AttributeFilter,
    GetSpanRequest,
    GetSpanTreeRequest,
    GetTraceRequest,
    LabelMatcher,
    LogEventRequest,
    MetricLabel,
    MetricPoint,
    MetricSeries,
    QueryMetricsRequest,
    QueryMetricsResponse,
    QuerySpansRequest,
    QueryTracesRequest,
    SaveSpansToDatasetRequest,
    Span,
    Spans,
    SpanTree,
    SpanWithStatus,
    Trace,
    Traces,
)

from .config import SqliteTelemetryConfig
from .spans import Feed, SpanRecord
from .store import SpanStore

__all__ = ["SqliteTelemetry", "create_provider"]

COLUMNS = ("trace_id", "span_id", "parent_span_id", "name", "start_time", "end_time")
TOKEN_METRICS = {
    "prompt_tokens": ("gen_ai.usage.input_tokens",),
    "completion_tokens": ("gen_ai.usage.output_tokens",),
    "total_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"),
}
SCAN_LIMIT = 50_000
_DURATION = re.compile(r"(\d+)([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


@dataclass(frozen=True)
class _Owned:
    type: str
    identifier: str
    owner: User | None


def _owner(row: Row[Any]) -> User | None:
    return User.model_validate_json(row.owner) if row.owner else None


def _time(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise BadRequestError(f"{value!r} is not a time (ISO 8601 or epoch seconds)") from None


def _stamp(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if actual is None:
        return False
    try:
        number, other = float(actual), float(expected)
        return number > other if op == "gt" else number < other
    except (TypeError, ValueError):
        text, pattern = str(actual), str(expected)
        return text > pattern if op == "gt" else text < pattern


def _matches(row: Row[Any], attributes: dict[str, Any], filters: Sequence[AttributeFilter]) -> bool:
    for f in filters:
        if f.key in COLUMNS:
            actual = getattr(row, f.key)
            expected = _time(f.value) if f.key.endswith("_time") else f.value
        else:
            actual, expected = attributes.get(f.key), f.value
        if not _compare(actual, f.op, expected):
            return False
    return True


def _span(row: Row[Any], keep: Sequence[str] | None = None) -> SpanWithStatus:
    attributes: dict[str, Any] = orjson.loads(row.attributes)
    if keep:
        attributes = {k: attributes[k] for k in keep if k in attributes}
    return SpanWithStatus(
        span_id=row.span_id,
        trace_id=row.trace_id,
        parent_span_id=row.parent_span_id,
        name=row.name,
        start_time=datetime.fromtimestamp(row.start_time, UTC),
        end_time=_stamp(row.end_time),
        attributes=attributes,
        status=row.status,
    )


def _seconds(granularity: str) -> int:
    found = _DURATION.fullmatch(granularity.strip())
    if not found:
        raise BadRequestError(f"granularity {granularity!r}: use a number and s, m, h, d or w (e.g. 1h)")
    return int(found.group(1)) * _SECONDS[found.group(2)]


def _label_match(labels: dict[str, str], matcher: LabelMatcher) -> bool:
    value = labels.get(matcher.name, "")
    if matcher.operator in ("=", "!="):
        return (value == matcher.value) == (matcher.operator == "=")
    return bool(re.fullmatch(matcher.value, value)) == (matcher.operator == "=~")


class SqliteTelemetry:
    """The span sink and query service over ``SpanStore``."""

    def __init__(self, config: SqliteTelemetryConfig, context: ProviderContext, database: Database) -> None:
        self.config, self.access, self.database = config, context.access, database
        self.own_database = database is not context.database
        self.store = SpanStore(database, config)
        self.datasetio: DatasetIOClient | None = context.datasetio if "datasetio" in context.deps else None

    def attach(self, feed: Feed) -> Callable[[SpanRecord], None]:
        add, dropped = self.store.add, feed.dropped

        def ended(span: SpanRecord) -> None:
            if not add(span):
                dropped(1)

        return ended

    async def shutdown(self) -> None:
        await self.store.close()
        if self.own_database:
            await self.database.close()

    def _readable(self, rows: Iterable[Row[Any]], kind: str = "trace") -> list[Row[Any]]:
        user = current_user.get()
        return [
            r for r in rows if self.access.allows(user, "read", _Owned(kind, r.trace_id or "", _owner(r)))
        ]

    async def _rows(self, *where: Any, order: Any = None, limit: int = SCAN_LIMIT) -> list[Row[Any]]:
        await self.store.flush()
        spans = self.store.spans
        query = select(spans).where(*where).order_by(order if order is not None else spans.c.start_time)
        async with self.database.engine.connect() as conn:
            return self._readable((await conn.execute(query.limit(limit))).all())

    async def _matching(self, filters: Sequence[AttributeFilter]) -> list[Row[Any]]:
        rows = await self._rows()
        return [r for r in rows if _matches(r, orjson.loads(r.attributes), filters)]

    async def query_traces(self, request: QueryTracesRequest) -> Traces:
        spans = self.store.spans
        where = [spans.c.root.is_(True)]
        if request.attribute_filters:
            where.append(
                spans.c.trace_id.in_({r.trace_id for r in await self._matching(request.attribute_filters)})
            )
        key = (request.order_by or ["-start_time"])[0]
        column = spans.c.end_time if key.lstrip("-") == "end_time" else spans.c.start_time
        roots = await self._rows(*where, order=column.desc() if key.startswith("-") else column)
        page = roots[request.offset : request.offset + request.limit]
        return Traces(data=[self._trace(r) for r in page])

    @staticmethod
    def _trace(row: Row[Any]) -> Trace:
        start = datetime.fromtimestamp(row.start_time, UTC)
        return Trace(
            trace_id=row.trace_id, root_span_id=row.span_id, start_time=start, end_time=_stamp(row.end_time)
        )

    async def get_trace(self, request: GetTraceRequest) -> Trace:
        spans = self.store.spans
        roots = await self._rows(spans.c.trace_id == request.trace_id, spans.c.root.is_(True), limit=1)
        if not roots:
            raise NotFoundError(f"No trace '{request.trace_id}'.", code="trace_not_found")
        return self._trace(roots[0])

    async def get_span(self, request: GetSpanRequest) -> Span:
        spans = self.store.spans
        rows = await self._rows(spans.c.trace_id == request.trace_id, spans.c.span_id == request.span_id)
        if not rows:
            raise NotFoundError(
                f"No span '{request.span_id}' in trace '{request.trace_id}'.", code="span_not_found"
            )
        found = _span(rows[0])
        return Span.model_validate(found.model_dump(exclude={"status"}))

    async def get_span_tree(self, request: GetSpanTreeRequest) -> SpanTree:
        spans = self.store.spans
        top = await self._rows(spans.c.span_id == request.span_id)
        if not top:
            raise NotFoundError(f"No span '{request.span_id}'.", code="span_not_found")
        rows = await self._rows(spans.c.trace_id == top[0].trace_id)
        tree = _descendants(top, rows, request.max_depth)
        return SpanTree(data={r.span_id: _span(r, request.attributes_to_return) for r in tree})

    async def query_spans(self, request: QuerySpansRequest) -> Spans:
        matched = await self._matching(request.attribute_filters)
        if request.max_depth:
            traces = {r.trace_id for r in matched}
            everything = await self._rows(self.store.spans.c.trace_id.in_(traces))
            matched = _descendants(matched, everything, request.max_depth)
        keep = request.attributes_to_return
        return Spans(
            data=[Span.model_validate(_span(r, keep).model_dump(exclude={"status"})) for r in matched]
        )

    async def save_spans_to_dataset(self, request: SaveSpansToDatasetRequest) -> None:
        if self.datasetio is None:
            raise BadRequestError(
                "Saving spans to a dataset needs a datasetio provider (e.g. inline::localfs) in the run config."
            )
        query = QuerySpansRequest(
            attribute_filters=request.attribute_filters,
            attributes_to_return=request.attributes_to_save,
            max_depth=request.max_depth,
        )
        rows = [_row(span, request.attributes_to_save) for span in (await self.query_spans(query)).data]
        if rows:
            await self.datasetio.append(request.dataset_id, rows)
        else:  # nothing to add, but an unknown dataset is still a 404
            await self.datasetio.page(request.dataset_id, 0, 0)

    async def log_event(self, request: LogEventRequest) -> None:
        event = request.event
        kind = event.get("type")
        if kind not in ("unstructured_log", "metric", "structured_log"):
            raise BadRequestError(
                "event.type must be unstructured_log, metric or structured_log", param="event.type"
            )
        user = current_user.get()
        owner = user.model_dump_json() if user is not None else None
        stamp = _time(event.get("timestamp") or time.time())
        attributes = {k: v for k, v in (event.get("attributes") or {}).items()}
        async with self.database.engine.begin() as conn:
            if kind == "structured_log":
                await conn.execute(self._structured(event, stamp, attributes, owner))
                return
            value = event.get("value")
            row = {
                "type": kind,
                "name": event.get("metric"),
                "trace_id": event.get("trace_id"),
                "span_id": event.get("span_id"),
                "timestamp": stamp,
                "value": float(value) if isinstance(value, int | float) else None,
                "unit": event.get("unit"),
                "body": orjson.dumps(event, default=str).decode(),
                "expires_at": time.time() + request.ttl_seconds,
                "owner": owner,
            }
            await conn.execute(insert(self.store.events).values(**row))

    def _structured(
        self, event: dict[str, Any], stamp: float, attributes: dict[str, Any], owner: str | None
    ) -> Any:
        payload = event.get("payload") or {}
        spans = self.store.spans
        if payload.get("type") == "span_end":
            status = "error" if payload.get("status") == "error" else "ok"
            return (
                update(spans)
                .where(spans.c.span_id == event.get("span_id"))
                .values(end_time=stamp, status=status)
            )
        parent = payload.get("parent_span_id")
        return insert(spans).values(
            span_id=str(event.get("span_id")),
            trace_id=str(event.get("trace_id")),
            parent_span_id=parent,
            root=not parent,
            name=str(payload.get("name", "")),
            start_time=stamp,
            kind="client_event",
            attributes=orjson.dumps(attributes).decode(),
            owner=owner,
        )

    async def query_metrics(self, request: QueryMetricsRequest) -> QueryMetricsResponse:
        start, end = float(request.start_time), float(request.end_time or time.time())
        points = [*await self._logged_points(request.metric_name, start, end)]
        if request.metric_name in TOKEN_METRICS:
            points += await self._token_points(TOKEN_METRICS[request.metric_name], start, end)
        matchers = request.label_matchers or []
        series: dict[tuple[tuple[str, str], ...], list[tuple[float, float, str]]] = defaultdict(list)
        for stamp, value, labels, unit in points:
            if all(_label_match(labels, m) for m in matchers):
                series[tuple(sorted(labels.items()))].append((stamp, value, unit))
        ranged = request.query_type == "range"
        width = _seconds(request.granularity) if request.granularity and ranged else None
        data = [
            MetricSeries(
                metric=request.metric_name,
                labels=[MetricLabel(name=k, value=v) for k, v in key],
                values=_bucketed(values, width, int(end) if request.query_type == "instant" else None),
            )
            for key, values in series.items()
        ]
        return QueryMetricsResponse(data=data)

    async def _logged_points(
        self, name: str, start: float, end: float
    ) -> list[tuple[float, float, dict[str, str], str]]:
        events = self.store.events
        query = select(events).where(
            events.c.type == "metric",
            events.c.name == name,
            events.c.timestamp >= start,
            events.c.timestamp <= end,
        )
        async with self.database.engine.connect() as conn:
            rows = self._readable((await conn.execute(query.limit(SCAN_LIMIT))).all(), "event")
        points = []
        for row in rows:
            attributes = orjson.loads(row.body).get("attributes") or {}
            labels = {str(k): str(v) for k, v in attributes.items()}
            points.append((row.timestamp, row.value or 0.0, labels, row.unit or ""))
        return points

    async def _token_points(
        self, keys: tuple[str, ...], start: float, end: float
    ) -> list[tuple[float, float, dict[str, str], str]]:
        spans = self.store.spans
        rows = await self._rows(
            spans.c.kind == "client", spans.c.start_time >= start, spans.c.start_time <= end
        )
        points = []
        for row in rows:
            attributes = orjson.loads(row.attributes)
            counts = [attributes[k] for k in keys if isinstance(attributes.get(k), int)]
            if counts:
                labels = {
                    "model_id": str(attributes.get("gen_ai.request.model", "")),
                    "provider_id": str(attributes.get("stack.provider.id", "")),
                }
                points.append((row.start_time, float(sum(counts)), labels, "tokens"))
        return points


def _row(span: Span, attributes: Sequence[str]) -> dict[str, Any]:
    """A dataset row of a span, as the 0.2 reference server wrote it (times in ISO 8601)."""
    found = span.attributes or {}
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "start_time": span.start_time.isoformat(),
        "end_time": span.end_time.isoformat() if span.end_time else None,
        **{key: found.get(key) for key in attributes},
    }


def _descendants(top: Sequence[Row[Any]], rows: Sequence[Row[Any]], max_depth: int | None) -> list[Row[Any]]:
    """``top`` and their descendants among ``rows``, ``max_depth`` levels down (None: all)."""
    children: dict[str, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        if row.parent_span_id:
            children[row.parent_span_id].append(row)
    found = {r.span_id: r for r in top}
    level, depth = list(top), 0
    while level and (max_depth is None or depth < max_depth):
        level = [c for r in level for c in children.get(r.span_id, ()) if c.span_id not in found]
        found.update((r.span_id, r) for r in level)
        depth += 1
    return list(found.values())


def _bucketed(
    values: list[tuple[float, float, str]], width: int | None, instant: int | None
) -> list[MetricPoint]:
    unit = values[0][2] if values else ""
    if instant is not None:
        return [MetricPoint(timestamp=instant, value=sum(v for _, v, _ in values), unit=unit)]
    if width is None:
        return [MetricPoint(timestamp=int(t), value=v, unit=u) for t, v, u in sorted(values)]
    sums: dict[int, float] = defaultdict(float)
    for stamp, value, _ in values:
        sums[int(stamp // width * width)] += value
    return [MetricPoint(timestamp=t, value=v, unit=unit) for t, v in sorted(sums.items())]


async def create_provider(config: SqliteTelemetryConfig, context: ProviderContext) -> SqliteTelemetry:
    database = context.database
    if config.db_path:
        database = Database(StoreConfig(db_path=config.db_path), Path(config.db_path))
    provider = SqliteTelemetry(config, context, database)
    await provider.store.open()
    return provider
