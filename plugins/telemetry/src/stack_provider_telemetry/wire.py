"""OTLP trace protobuf written by hand: ``ExportTraceServiceRequest`` bytes from ``SpanRecord``s.

Building the generated message objects costs ~45 us per span (ten ``KeyValue``/``AnyValue``
objects each); writing the few wire-format fields directly costs a few, and the encoded
attributes repeat across spans, so each ``(key, value)`` is encoded once and remembered. Field
numbers are those of ``opentelemetry/proto/trace/v1/trace.proto`` (a test decodes the output with
the generated classes).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

from .spans import SpanRecord

__all__ = ["encode_spans"]

_DOUBLE = struct.Struct("<d").pack
_FIXED64 = struct.Struct("<Q").pack
_FIXED32 = struct.Struct("<I").pack
_CACHE: dict[tuple[str, str], bytes] = {}
MAX_CACHED = 4096


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _any(value: Any) -> bytes:
    if isinstance(value, str):
        return _field(1, value.encode())
    if isinstance(value, bool):
        return b"\x10" + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if isinstance(value, list | tuple):
        return _field(5, b"".join(_field(1, _any(v)) for v in value))
    return _field(1, str(value).encode())


def _attribute(key: str, value: Any) -> bytes:
    """A ``KeyValue`` as field 1 of its parent (span, resource); remembered for string values
    (``True == 1 == 1.0`` would mix types in a cache keyed by value)."""
    cacheable = type(value) is str
    if cacheable:
        found = _CACHE.get((key, value))
        if found is not None:
            return found
    encoded = _field(1, _field(1, key.encode()) + _field(2, _any(value)))
    if cacheable and len(_CACHE) < MAX_CACHED:
        _CACHE[(key, value)] = encoded
    return encoded


def _span(s: SpanRecord) -> bytes:
    parts = [
        b"\x0a\x10" + s.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + s.span_id.to_bytes(8, "big"),
    ]
    if s.parent_id:
        parts.append(b"\x22\x08" + s.parent_id.to_bytes(8, "big"))
    parts += (
        _field(5, s.name.encode()),
        b"\x30" + _varint(s.kind),
        b"\x39" + _FIXED64(s.start_ns),
        b"\x41" + _FIXED64(s.end_ns),
    )
    for key, value in s.attributes.items():
        attribute = _attribute(key, value)
        parts.append(b"\x4a" + attribute[1:])  # field 9 of Span, not field 1
    if s.error is not None:  # Status{message = 2, code = 3: ERROR}
        parts.append(_field(15, _field(2, s.error.encode()) + b"\x18\x02"))
    parts.append(b"\x85\x01" + _FIXED32(0x101 | (0x200 if s.remote_parent else 0)))  # flags = 16
    return _field(2, b"".join(parts))


def encode_spans(spans: Sequence[SpanRecord], resource: Mapping[str, Any]) -> bytes:
    """An ``ExportTraceServiceRequest`` of ``spans`` under one resource and the ``stack`` scope."""
    attributes = b"".join(_attribute(k, v) for k, v in resource.items())
    scope = _field(1, _field(1, b"stack")) + b"".join(_span(s) for s in spans)
    return _field(1, _field(1, attributes) + _field(2, scope))
