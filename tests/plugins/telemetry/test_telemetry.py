"""Telemetry through ``stack run`` over the fake backend, on real sockets: spans at a real OTLP/HTTP
receiver, ``/metrics`` scraped and parsed, the 0.2 Telemetry API through ``llama-stack-client``
over the SQLite sink (spans exported to an ``inline::localfs`` rows dataset included), per-user
visibility, and a dead receiver that never fails a request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from auth_endpoint import spawn_auth_endpoint
from backends import fake_backend, inference_config, stack_server
from llama_stack_client import BadRequestError, LlamaStackClient, NotFoundError
from otlp_receiver import OtlpReceiver
from prometheus_client.parser import text_string_to_metric_families

from stack_core import hashed_principal
from stack_core.testing import StackServer, free_port

pytestmark = pytest.mark.integration

TOKENS = {
    "tok-alice": {"principal": "alice", "access_attributes": {"teams": ["red"]}},
    "tok-bob": {"principal": "bob", "access_attributes": {"teams": ["blue"]}},
}
ALICE, BOB = {"authorization": "Bearer tok-alice"}, {"authorization": "Bearer tok-bob"}
CALLER_TRACE, CALLER_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
CHAT = {"model": "m1", "messages": [{"role": "user", "content": "tell me about otters"}]}


def telemetry_config(
    backend: str, auth: str, otlp: str, datasetio: bool = True, **otlp_config: Any
) -> dict[str, Any]:
    config = inference_config(
        ("vllm", "remote::vllm", {"url": f"{backend}/v1", "max_retries": 0}),
        server={"auth": {"provider_config": {"type": "custom", "endpoint": f"{auth}/validate"}}},
        telemetry={"service_name": "stack-under-test", "log_format": "json"},
    )
    config["providers"]["telemetry"] = [
        {"provider_id": "sqlite", "provider_type": "inline::sqlite", "config": {"flush_interval": 0.2}},
        {
            "provider_id": "otlp",
            "provider_type": "remote::otlp",
            "config": {"endpoint": otlp, "schedule_delay": 0.2, "metric_interval": 1.0, **otlp_config},
        },
    ]
    if datasetio:
        config["apis"].append("datasetio")
        config["providers"]["datasetio"] = [
            {"provider_id": "localfs", "provider_type": "inline::localfs", "config": {}}
        ]
    return config


@pytest.fixture(scope="module")
def auth() -> Iterator[str]:
    endpoint, process = spawn_auth_endpoint(TOKENS, accept_all=False)
    yield endpoint
    process.kill()
    process.wait(10)
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    with fake_backend(models="m1", chunks=4) as url:
        yield url


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def server(
    backend: str, auth: str, receiver: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackServer]:
    config = telemetry_config(backend, auth, receiver.url)
    with stack_server(config, tmp_path_factory.mktemp("home")) as server:
        yield server


def stream_chat(server: StackServer, headers: dict[str, str]) -> tuple[httpx.Response, dict[str, Any]]:
    """A streamed chat with usage; the reply and the usage its last chunk reported."""
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    reply = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
    events = [e.removeprefix("data: ") for e in reply.text.split("\n\n") if e.startswith("data: {")]
    usage = next(u for u in (orjson.loads(e).get("usage") for e in events) if u)
    return reply, usage


def scrape(
    server: StackServer, headers: dict[str, str] = ALICE
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = httpx.get(f"{server.url}/metrics", headers=headers)
    assert reply.status_code == 200, reply.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def sample(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples carrying ``labels`` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in metrics.items() if n == name and wanted <= set(ls))


def test_a_streamed_chat_reaches_the_receiver_as_a_server_span_and_a_genai_client_span(
    server: StackServer, backend: str, receiver: OtlpReceiver
) -> None:
    traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    reply, usage = stream_chat(server, {**ALICE, "traceparent": traceparent})
    assert reply.status_code == 200 and reply.text.endswith("data: [DONE]\n\n")

    def ours(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [s for s in spans if s["trace_id"] == CALLER_TRACE]

    spans = ours(receiver.wait_for_spans(lambda spans: len(ours(spans)) >= 2))
    by_kind = {s["kind"]: s for s in spans}
    served, chat = by_kind["server"], by_kind["client"]
    assert served["name"] == "POST /v1/chat/completions" and served["parent_span_id"] == CALLER_SPAN
    assert served["attributes"]["http.route"] == "/v1/chat/completions"
    assert served["attributes"]["http.response.status_code"] == 200
    assert served["attributes"]["stack.request_id"] == reply.headers["x-request-id"]
    assert served["attributes"]["user.hash"] == hashed_principal("alice")
    assert served["resource"]["service.name"] == "stack-under-test"
    assert chat["name"] == "chat m1" and chat["parent_span_id"] == served["span_id"]
    attributes = chat["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat" and attributes["gen_ai.provider.name"] == "vllm"
    assert attributes["gen_ai.request.model"] == "m1" and attributes["gen_ai.response.model"] == "m1"
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert 0 < attributes["gen_ai.response.time_to_first_chunk"] < 5
    assert "gen_ai.input.messages" not in attributes and "otters" not in orjson.dumps(spans).decode()
    upstream = httpx.get(f"{backend}/__stats").json()["traceparent"]
    assert upstream == f"00-{CALLER_TRACE}-{chat['span_id']}-01"


def test_metrics_count_what_was_sent_and_need_auth(server: StackServer) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    before = scrape(server)
    usages = [stream_chat(server, BOB)[1] for _ in range(3)]
    plain = httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=BOB).json()["usage"]
    after = scrape(server)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    chat = {"http_route": "/v1/chat/completions", "http_response_status_code": "200"}
    assert delta("stack_requests_total", **chat) == 4
    assert delta("http_server_request_duration_seconds_count", **chat) == 4
    genai = {"gen_ai_operation_name": "chat", "gen_ai_request_model": "m1", "gen_ai_provider_name": "vllm"}
    inputs = sum(u["prompt_tokens"] for u in [*usages, plain])
    outputs = sum(u["completion_tokens"] for u in [*usages, plain])
    assert delta("gen_ai_client_token_usage_sum", gen_ai_token_type="input", **genai) == inputs
    assert delta("gen_ai_client_token_usage_sum", gen_ai_token_type="output", **genai) == outputs
    assert delta("gen_ai_client_token_usage_count", gen_ai_token_type="output", **genai) == 4
    assert delta("gen_ai_client_operation_duration_seconds_count", **genai) == 4
    assert delta("gen_ai_client_operation_time_to_first_chunk_seconds_count", **genai) == 3
    assert sample(after, "stack_requests_in_flight") == 1  # the scrape itself
    assert sample(after, "stack_provider_up", provider_id="vllm") == 1


def test_the_telemetry_api_answers_llama_stack_client_over_the_sqlite_sink(server: StackServer) -> None:
    reply, usage = stream_chat(server, ALICE)
    client = LlamaStackClient(base_url=server.url, api_key="tok-alice")
    request_filter = {"key": "stack.request_id", "op": "eq", "value": reply.headers["x-request-id"]}
    traces = client.telemetry.query_traces(attribute_filters=[request_filter], limit=5)
    assert len(traces) == 1
    tree = client.telemetry.get_span_tree(
        span_id=traces[0].root_span_id, attributes_to_return=["gen_ai.usage.output_tokens"]
    )
    names = sorted(span.name for span in tree.values())
    assert names == ["POST /v1/chat/completions", "chat m1"]
    chat = next(span for span in tree.values() if span.name == "chat m1")
    assert chat.attributes == {"gen_ai.usage.output_tokens": usage["completion_tokens"]}
    assert client.telemetry.get_trace(traces[0].trace_id).root_span_id == traces[0].root_span_id

    now = time.time()
    event = {"type": "metric", "metric": "otters_seen", "value": 3, "unit": "otters", "trace_id": "t1",
             "span_id": "s1", "timestamp": now, "attributes": {"river": "thames"}}  # fmt: skip
    client.telemetry.log_event(event=event, ttl_seconds=3600)
    logged = client.post(
        "/v1/telemetry/metrics/otters_seen",
        body={"start_time": int(now) - 60, "query_type": "instant"},
        cast_to=httpx.Response,
    ).json()
    [series] = logged["data"]
    assert series["metric"] == "otters_seen" and series["labels"] == [{"name": "river", "value": "thames"}]
    assert [(p["value"], p["unit"]) for p in series["values"]] == [(3.0, "otters")]
    tokens = client.post(
        "/v1/telemetry/metrics/completion_tokens",
        body={"start_time": int(now) - 600, "granularity": "1h",
              "label_matchers": [{"name": "model_id", "value": "m1", "operator": "="}]},
        cast_to=httpx.Response,
    ).json()  # fmt: skip
    assert sum(p["value"] for s in tokens["data"] for p in s["values"]) >= usage["completion_tokens"]


def test_spans_export_to_a_rows_dataset_as_their_caller_sees_them(server: StackServer) -> None:
    reply, usage = stream_chat(server, ALICE)
    request_filter = {"key": "stack.request_id", "op": "eq", "value": reply.headers["x-request-id"]}
    saved = ["stack.request_id", "gen_ai.usage.output_tokens"]
    with (
        LlamaStackClient(base_url=server.url, api_key="tok-alice") as alice,
        LlamaStackClient(base_url=server.url, api_key="tok-bob") as bob,
    ):
        for client, dataset_id in ((alice, "alice-spans"), (bob, "bob-spans")):
            empty = {"type": "rows", "rows": []}
            client.datasets.register(purpose="eval/question-answer", source=empty, dataset_id=dataset_id)
            client.telemetry.save_spans_to_dataset(
                attribute_filters=[request_filter],
                attributes_to_save=saved,
                dataset_id=dataset_id,
                max_depth=1,
            )

        rows = {row["name"]: row for row in alice.datasets.iterrows("alice-spans").data}
        assert bob.datasets.iterrows("bob-spans").data == []  # alice's spans are not bob's to read
        with pytest.raises(NotFoundError):
            alice.telemetry.save_spans_to_dataset(
                attribute_filters=[], attributes_to_save=[], dataset_id="nope"
            )
    served, chat = rows["POST /v1/chat/completions"], rows["chat m1"]
    assert served["stack.request_id"] == reply.headers["x-request-id"]
    assert served["gen_ai.usage.output_tokens"] is None and served["parent_span_id"] is None
    assert chat["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert chat["parent_span_id"] == served["span_id"] and chat["trace_id"] == served["trace_id"]
    assert chat["start_time"] <= chat["end_time"] and len(rows) == 2


def test_spans_export_without_a_datasetio_provider_is_a_400(
    backend: str, auth: str, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    config = telemetry_config(backend, auth, receiver.url, datasetio=False)
    with (
        stack_server(config, tmp_path) as server,
        LlamaStackClient(base_url=server.url, api_key="tok-alice") as client,
        pytest.raises(BadRequestError, match="datasetio provider"),
    ):
        client.telemetry.save_spans_to_dataset(attribute_filters=[], attributes_to_save=[], dataset_id="d")


def test_a_user_sees_only_their_own_traces(server: StackServer) -> None:
    reply, _ = stream_chat(server, ALICE)
    request_filter = [{"key": "stack.request_id", "op": "eq", "value": reply.headers["x-request-id"]}]
    alice = httpx.post(
        f"{server.url}/v1/telemetry/traces", json={"attribute_filters": request_filter}, headers=ALICE
    )
    bob = httpx.post(
        f"{server.url}/v1/telemetry/traces", json={"attribute_filters": request_filter}, headers=BOB
    )
    assert len(alice.json()["data"]) == 1 and bob.json()["data"] == []
    trace_id = alice.json()["data"][0]["trace_id"]
    assert httpx.get(f"{server.url}/v1/telemetry/traces/{trace_id}", headers=BOB).status_code == 404
    everything = httpx.post(f"{server.url}/v1/telemetry/traces", json={"limit": 1000}, headers=BOB).json()[
        "data"
    ]
    assert trace_id not in {t["trace_id"] for t in everything}


def test_a_dead_receiver_never_fails_a_request_and_its_spans_are_counted_as_dropped(
    backend: str, auth: str, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = telemetry_config(backend, auth, dead, timeout=0.5, export_metrics=False)
    with stack_server(config, tmp_path) as server:
        replies = [stream_chat(server, ALICE)[0] for _ in range(5)]
        assert [r.status_code for r in replies] == [200] * 5
        deadline = time.monotonic() + 15
        while (dropped := sample(scrape(server), "stack_telemetry_spans_dropped_total", sink="otlp")) < 10:
            assert time.monotonic() < deadline, f"only {dropped} spans counted as dropped"
            time.sleep(0.3)
        log = server.log()
    lines = [orjson.loads(line) for line in log.splitlines() if line.startswith('{"ts"')]
    chats = [line for line in lines if line.get("route") == "/v1/chat/completions"]
    assert len(chats) == 5 and {line["status"] for line in chats} == {200}
    first = chats[0]
    assert first["model"] == "m1" and first["output_tokens"] > 0 and len(first["trace_id"]) == 32
    assert first["principal"] == hashed_principal("alice") and "tok-alice" not in log
