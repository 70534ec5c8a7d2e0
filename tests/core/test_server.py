"""The ASGI app in-process: routes, errors, routing and federation through the echo test plugin."""

from __future__ import annotations

from typing import Any

import pytest


async def test_health_version_and_request_id(serve: Any) -> None:
    async with serve() as client:
        response = await client.get("/v1/health")
        assert response.json() == {"status": "OK"}
        assert len(response.headers["x-request-id"]) == 32
        echoed = await client.get("/v1/version", headers={"x-request-id": "abc"})
        assert echoed.headers["x-request-id"] == "abc" and echoed.json()["version"]


async def test_federation_routes_each_resource_to_its_provider(serve: Any) -> None:
    async with serve() as client:
        await client.post("/v1/voices", json={"voice_id": "bass", "provider_id": "echo-b"})
        a = (await client.post("/v1/echo", json={"voice": "alto", "text": "hi"})).json()
        b = (await client.post("/v1/echo", json={"voice": "bass", "text": "hi"})).json()
    assert (a["text"], a["provider_id"]) == ("A:hi", "echo-a")
    assert (b["text"], b["provider_id"]) == ("B:hi", "echo-b")


async def test_provider_resource_id_is_what_the_provider_sees(serve: Any) -> None:
    async with serve() as client:
        await client.post(
            "/v1/voices", json={"voice_id": "nick", "provider_voice_id": "real", "provider_id": "echo-a"}
        )
        reply = (await client.post("/v1/echo", json={"voice": "nick", "text": "x"})).json()
    assert reply["voice"] == "real"


async def test_streaming_is_sse_ending_in_done(serve: Any) -> None:
    async with serve() as client:
        response = await client.post("/v1/echo", json={"voice": "alto", "text": "a b c", "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.split("\n\n") if line]
    assert events[0] == 'data: {"text":"A:a","voice":"alto","provider_id":"echo-a"}'
    assert events[-1] == "data: [DONE]"


async def test_failure_mid_stream_ends_with_an_error_event(serve: Any) -> None:
    async with serve() as client:
        response = await client.post("/v1/echo", json={"voice": "alto", "text": "a boom c", "stream": True})
    events = [line for line in response.text.split("\n\n") if line]
    assert '"error"' in events[-1] and "boom" in events[-1] and "[DONE]" not in response.text


async def test_unknown_resource_is_404_naming_registered_ones(serve: Any) -> None:
    async with serve() as client:
        response = await client.post("/v1/echo", json={"voice": "tenor", "text": "x"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert "'tenor' not found" in error["message"] and "alto" in error["message"]
    assert "POST /v1/voices" in error["message"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"voice": "alto"}', "'text'"),
        (b'{"voice": 1, "text": "x"}', "'voice'"),
    ],
)
async def test_bad_requests_are_400_naming_the_problem(serve: Any, body: bytes, needle: str) -> None:
    async with serve() as client:
        response = await client.post("/v1/echo", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_unknown_route_and_method(serve: Any) -> None:
    async with serve() as client:
        missing = await client.get("/v1/nope")
        wrong = await client.delete("/v1/health")
    assert missing.status_code == 404 and "inspect/routes" in missing.json()["error"]["message"]
    assert wrong.status_code == 405 and wrong.json()["error"]["type"] == "invalid_request_error"


async def test_registry_crud(serve: Any) -> None:
    async with serve() as client:
        created = await client.post(
            "/v1/voices", json={"voice_id": "v1", "provider_id": "echo-b", "tone": "warm"}
        )
        assert created.status_code == 200 and created.json()["provider_resource_id"] == "v1"
        assert (await client.get("/v1/voices/v1")).json()["tone"] == "warm"
        listed = (await client.get("/v1/voices")).json()["data"]
        assert {v["identifier"] for v in listed} == {"alto", "v1"}
        assert (await client.delete("/v1/voices/v1")).status_code == 204
        assert (await client.get("/v1/voices/v1")).status_code == 404


async def test_register_conflicts_and_refusals(serve: Any) -> None:
    async with serve() as client:
        ambiguous = await client.post("/v1/voices", json={"voice_id": "v"})
        assert ambiguous.status_code == 400 and "echo-a, echo-b" in ambiguous.json()["error"]["message"]
        unknown = await client.post("/v1/voices", json={"voice_id": "v", "provider_id": "zzz"})
        assert unknown.status_code == 400 and "Providers that do: echo-a, echo-b" in unknown.text
        refused = await client.post(
            "/v1/voices", json={"voice_id": "v", "provider_id": "echo-a", "tone": "forbidden"}
        )
        assert refused.status_code == 400 and "not served by echo-a" in refused.text
        conflict = await client.post("/v1/voices", json={"voice_id": "alto", "provider_id": "echo-b"})
        assert conflict.status_code == 409
        same = await client.post("/v1/voices", json={"voice_id": "alto", "provider_id": "echo-a"})
        assert same.status_code == 200
        assert (await client.get("/v1/voices/v")).status_code == 404


async def test_providers_redact_secrets_and_report_health(serve: Any) -> None:
    async with serve() as client:
        data = (await client.get("/v1/providers")).json()["data"]
        one = (await client.get("/v1/providers/echo-a")).json()
        missing = await client.get("/v1/providers/nope")
    assert {p["provider_id"] for p in data} == {"echo-a", "echo-b"}
    assert one["config"]["api_key"] == "**********" and "sk-a" not in str(data)
    assert one["health"] == {"status": "OK"} and one["api"] == "echo"
    assert missing.status_code == 404


async def test_inspect_routes_list_served_routes_with_provider_types(serve: Any) -> None:
    async with serve() as client:
        routes = (await client.get("/v1/inspect/routes")).json()["data"]
    echo = next(r for r in routes if r["route"] == "/v1/echo")
    assert echo == {"route": "/v1/echo", "method": "POST", "provider_types": ["inline::echo"]}
    assert not any(r["route"] == "/v1/models" for r in routes)


async def test_openapi_document_is_derived_from_the_declarations(serve: Any) -> None:
    async with serve() as client:
        doc = (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    echo = doc["paths"]["/v1/echo"]["post"]
    assert echo["requestBody"]["content"]["application/json"]["schema"]["required"] == ["voice", "text"]
    get_voice = doc["paths"]["/v1/voices/{voice_id}"]["get"]
    assert get_voice["parameters"][0] == {
        "name": "voice_id",
        "in": "path",
        "required": True,
        "schema": {"maxLength": 256, "minLength": 1, "title": "Voice Id", "type": "string"},
    }
    assert "Voice" in doc["components"]["schemas"]


async def test_freed_memory_is_handed_back_once_after_each_burst() -> None:
    import asyncio
    import platform

    from stack_core.server.memory import malloc_trim, trim_when_idle

    if platform.libc_ver()[0] == "glibc":
        assert malloc_trim() is not None
    requests, trims = 0, []
    task = asyncio.create_task(trim_when_idle(lambda: requests, lambda: trims.append(requests), 0.01))
    await asyncio.sleep(0.06)
    assert trims == [0]  # start-up's garbage, once
    requests = 5
    await asyncio.sleep(0.06)
    assert trims == [0, 5]  # the burst ended: trimmed once, not on every idle tick
    requests = 9
    await asyncio.sleep(0.06)
    task.cancel()
    assert trims == [0, 5, 9]
