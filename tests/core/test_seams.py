"""The kernel's seams: per-route dispatch, declared stream framing, disconnects, the provider-call
wrapper and plugin middleware."""

from __future__ import annotations

import asyncio
from importlib.metadata import entry_points
from typing import Any

import observer_plugin
import orjson
import pytest
import seams_plugin
from echo_plugin import VOICES, EchoProvider
from in_process import ECHO_CONFIG, running
from starlette.types import Message

from stack_core import ApiSpec, PluginError, Route, create_app
from stack_core.plugins import CORE_PLUGIN, GROUP, PluginSet, discover
from stack_core.routing import KernelApi, ServedApi

TICKER_CONFIG = {
    "apis": ["ticker"],
    "providers": {"ticker": [{"provider_id": "t", "provider_type": "inline::ticker"}]},
}


@pytest.fixture(scope="module")
def ticker_plugins() -> PluginSet:
    return discover({"ticker": seams_plugin})


def events(text: str) -> list[str]:
    return [e for e in text.split("\n\n") if e]


async def test_named_events_carry_the_item_type_and_no_done(ticker_plugins: PluginSet) -> None:
    async with running(TICKER_CONFIG, ticker_plugins) as client:
        reply = await client.post("/v1/ticks", json={"count": 2})
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert events(reply.text) == [
        'event: tick.delta\ndata: {"type":"tick.delta","n":0}',
        'event: tick.delta\ndata: {"type":"tick.delta","n":1}',
    ]


async def test_an_error_mid_stream_ends_it_with_the_framings_error_event(ticker_plugins: PluginSet) -> None:
    async with running(TICKER_CONFIG, ticker_plugins) as client:
        named = await client.post("/v1/ticks", json={"count": 3, "fail_at": 1})
        turns = await client.post("/v1/turns", json={"count": 3, "fail_at": 1})
    *_, error = events(named.text)
    assert len(events(named.text)) == 2 and error.startswith("event: error\ndata: ")
    assert orjson.loads(error.split("data: ", 1)[1]) == {
        "type": "error",
        "code": "tick_refused",
        "message": "tick 1 refused",
        "param": None,
    }
    first, failed = events(turns.text)
    assert first == 'data: {"event":{"payload":{"event_type":"step_progress","n":0}}}'
    assert orjson.loads(failed.removeprefix("data: "))["error"]["code"] == "tick_refused"


async def leave_after_first_event(app: Any, path: str, body: bytes) -> list[bytes]:
    """Drive the ASGI app as a client that disconnects once the first event arrived."""
    received: list[bytes] = []
    first = asyncio.Event()
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await first.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            received.append(message["body"])
            first.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("stack", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), 5)
    return received


@pytest.mark.parametrize("path", ["/v1/ticks", "/v1/turns"])
async def test_a_client_leaving_stops_the_producer(ticker_plugins: PluginSet, path: str) -> None:
    app = create_app(TICKER_CONFIG, plugins=ticker_plugins)
    async with app.router.lifespan_context(app):
        received = await leave_after_first_event(app, path, b'{"count": 500, "delay": 0.01}')
        ticker = app.state.stack.instances("ticker")[0].impl
        assert received and ticker.closed == 1 and ticker.produced < 50


async def test_without_a_wrapper_a_direct_route_calls_the_provider_method_itself() -> None:
    core = [ep for ep in entry_points(group=GROUP) if ep.name == CORE_PLUGIN]  # no installed wrapper
    ticker_plugins = discover({"ticker": seams_plugin}, eps=core)
    assert ticker_plugins.provider_call_hook() is None
    app = create_app(TICKER_CONFIG, plugins=ticker_plugins)
    async with app.router.lifespan_context(app):
        stack = app.state.stack
        ticker = stack.instances("ticker")[0].impl
        assert stack.api("ticker").handler("ticks") == ticker.ticks
        assert stack.slot("ticker", "ticks").handler == ticker.ticks


async def test_the_provider_call_wrapper_sees_every_call_and_middleware_runs_in_order() -> None:
    import echo_plugin

    plugins = discover({"echo": echo_plugin, "observer": observer_plugin})
    observer_plugin.CALLS.clear()
    async with running(ECHO_CONFIG, plugins) as client:
        reply = await client.post("/v1/echo", json={"voice": "alto", "text": "hi"})
        stream = await client.post("/v1/echo", json={"voice": "alto", "text": "a b", "stream": True})
    assert reply.json()["text"] == "A:hi" and stream.text.endswith("data: [DONE]\n\n")
    assert observer_plugin.CALLS == [("echo", "echo", "echo-a", "alto")] * 2
    assert (reply.headers["x-tag-outer"], reply.headers["x-tag-inner"]) == ("0", "1")


async def test_start_up_finds_optional_capabilities_by_protocol(plugins: PluginSet) -> None:
    app = create_app(ECHO_CONFIG, plugins=plugins)
    async with app.router.lifespan_context(app):
        instance = app.state.stack.instances("echo")[0]
        assert isinstance(instance.impl, EchoProvider)
        assert instance.capabilities.names(VOICES) == ["HealthCheck", "VoiceRegistrar"]
        assert instance.capabilities.register == instance.impl.register_voice


async def test_an_api_may_bring_its_own_router(ticker_plugins: PluginSet) -> None:
    singers = [{"provider_id": pid, "provider_type": "inline::singer"} for pid in ("alto", "bass")]
    async with running({"providers": {"chorus": singers}}, ticker_plugins) as client:
        reply = await client.post("/v1/chorus", json={"text": "la"})
    assert reply.json() == {"data": [{"voice": "alto", "text": "la"}, {"voice": "bass", "text": "la"}]}


async def test_a_route_via_a_translation_is_built_from_the_served_api(ticker_plugins: PluginSet) -> None:
    singers = [{"provider_id": pid, "provider_type": "inline::singer"} for pid in ("alto", "bass")]
    async with running({"providers": {"chorus": singers}}, ticker_plugins) as client:
        loud = await client.post("/v1/chorus/loud", json={"text": "la"})
        soft = await client.post("/v1/chorus/whisper", json={"text": "la"})
    assert loud.json() == {"data": [{"voice": "alto", "text": "LA"}, {"voice": "bass", "text": "LA"}]}
    assert soft.json()["data"][0] == {"voice": "alto", "text": "la"}


def test_a_route_via_a_reference_that_does_not_import_is_a_plugin_error() -> None:
    spec = ApiSpec("chant", routes=(Route("POST", "/v1/chant", "chant", via="seams_plugin:nothing_here"),))
    with pytest.raises(PluginError, match="route POST /v1/chant: cannot import seams_plugin:nothing_here"):
        ServedApi(spec, {}, KernelApi(object()))
