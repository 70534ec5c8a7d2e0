"""The server's spans as plain records, and what a sink is given.

A request costs two spans (server, GenAI client); the OpenTelemetry SDK's span objects (attribute
validation, locks, processor fan-out, a ``ReadableSpan`` copy per sink) cost ~20 us each before a
sink even sees them. A ``SpanRecord`` is a slotted object filled in place and handed, once ended,
to every sink as is: ``inline::sqlite`` turns it into a row and ``remote::otlp`` into protobuf,
both in batches, off the request path. Ids, sampling and W3C ``traceparent`` follow the SDK's
rules (random 128/64-bit ids; ``ParentBased`` over a trace-id ratio; ``OTEL_TRACES_SAMPLER(_ARG)``
when the config sets no ratio).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricsData

    from stack_core import User

__all__ = [
    "CLIENT",
    "CURRENT_SPAN",
    "SERVER",
    "Feed",
    "Sampler",
    "SpanRecord",
    "SpanSink",
    "parse_traceparent",
]

SERVER, CLIENT = 2, 3  # OTLP SpanKind numbers
KIND_NAMES = {SERVER: "server", CLIENT: "client"}
_ID_LIMIT = (1 << 64) - 1


class SpanRecord:
    """One span: ids, name, kind, times (ns since the epoch), attributes, status and the user
    current when it ended (its owner)."""

    __slots__ = (
        "attributes",
        "end_ns",
        "error",
        "kind",
        "name",
        "owner",
        "parent_id",
        "remote_parent",
        "sampled",
        "span_id",
        "start_ns",
        "trace_id",
    )

    def __init__(
        self,
        trace_id: int,
        span_id: int,
        parent_id: int,
        remote_parent: bool,
        sampled: bool,
        name: str,
        kind: int,
        start_ns: int,
        attributes: dict[str, Any],
    ) -> None:
        self.trace_id, self.span_id, self.parent_id = trace_id, span_id, parent_id
        self.remote_parent, self.sampled = remote_parent, sampled
        self.name, self.kind, self.start_ns, self.attributes = name, kind, start_ns, attributes
        self.end_ns = 0
        self.error: str | None = None  # the status description of a failed span
        self.owner: User | None = None

    def traceparent(self) -> str:
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-{'01' if self.sampled else '00'}"


CURRENT_SPAN: ContextVar[SpanRecord | None] = ContextVar("stack_telemetry_span", default=None)


def new_span_id() -> int:
    return random.getrandbits(64) or 1


def new_trace_id() -> int:
    return random.getrandbits(128) or 1


def parse_traceparent(value: str) -> tuple[int, int, bool] | None:
    """A W3C ``traceparent``'s trace id, parent span id and sampled flag; None when malformed."""
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0] == "ff" or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3][:2], 16)
    except ValueError:
        return None
    if not trace_id or not span_id or (parts[0] == "00" and len(parts) != 4):
        return None
    return trace_id, span_id, bool(flags & 1)


@dataclass(frozen=True, slots=True)
class Sampler:
    """``ParentBased`` (optional) over a trace-id ratio: a remote parent's flag is followed, a new
    trace is kept when the low 64 bits of its id fall under ``ratio`` of the range."""

    ratio: float = 1.0
    parent_based: bool = True

    @classmethod
    def of(cls, ratio: float | None) -> Sampler:
        if ratio is not None:
            return cls(ratio)
        name = os.environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
        parent_based = name.startswith("parentbased_")
        base = name.removeprefix("parentbased_")
        if base == "always_off":
            return cls(0.0, parent_based)
        if base == "traceidratio":
            try:
                arg = float(os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1.0"))
            except ValueError:
                arg = 1.0
            return cls(min(max(arg, 0.0), 1.0), parent_based)
        return cls(1.0, parent_based)

    @property
    def bound(self) -> int:
        return round(self.ratio * (_ID_LIMIT + 1))

    def sampled(self, trace_id: int, parent_sampled: bool | None) -> bool:
        if parent_sampled is not None and self.parent_based:
            return parent_sampled
        return self.ratio >= 1.0 or (trace_id & _ID_LIMIT) < self.bound


@dataclass(frozen=True, slots=True)
class Feed:
    """What a sink is given when the runtime starts: the resource's attributes, a counter of the
    spans it drops, and a snapshot of the server's metrics (for sinks that export them)."""

    resource: Mapping[str, Any]
    dropped: Callable[[int], None]
    metrics: Callable[[], MetricsData]


@runtime_checkable
class SpanSink(Protocol):
    """A telemetry provider that receives the server's spans (and, optionally, its metrics)."""

    def attach(self, feed: Feed) -> Callable[[SpanRecord], None]:
        """Start receiving: the function every ended, sampled span is handed to. It runs on the
        request path, so it must only queue (O(1)), never block or fail; it calls
        ``feed.dropped(n)`` for spans it cannot deliver."""
        ...
