"""The hand-written OTLP encoding decodes, with the generated classes, to what was recorded."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from otlp_receiver import _span
from stack_provider_telemetry.spans import CLIENT, SERVER, SpanRecord
from stack_provider_telemetry.wire import encode_spans

ATTRIBUTES = {"s": "chat", "no": False, "yes": True, "n": 7, "neg": -3, "x": 0.25, "l": ["stop", "length"]}


def test_spans_round_trip_through_the_generated_classes() -> None:
    server = SpanRecord(1 << 100, 5, 7, True, True, "POST /v1/chat", SERVER, 10, {"same": 1})
    client = SpanRecord(1 << 100, 6, 5, False, True, "chat m1", CLIENT, 11, dict(ATTRIBUTES))
    server.end_ns, client.end_ns, client.error = 20, 19, "boom"
    body = encode_spans([server, client, client], {"service.name": "stack"})
    [resource_spans] = ExportTraceServiceRequest.FromString(body).resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    [scope] = resource_spans.scope_spans
    decoded = [_span(s, resource) for s in scope.spans]
    assert scope.scope.name == "stack" and resource == {"service.name": "stack"}
    assert decoded[1] == decoded[2] and decoded[0]["parent_span_id"] == f"{7:016x}"
    assert decoded[1] == {
        "name": "chat m1",
        "kind": "client",
        "trace_id": f"{1 << 100:032x}",
        "span_id": f"{6:016x}",
        "parent_span_id": f"{5:016x}",
        "attributes": ATTRIBUTES,
        "status": 2,
        "resource": resource,
    }
    assert (scope.spans[1].start_time_unix_nano, scope.spans[1].end_time_unix_nano) == (11, 19)
    assert scope.spans[1].status.message == "boom" and scope.spans[0].flags == 0x301
