"""Issue 14: what one user, one client or one backend cannot do to everybody else (real sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from backends import api_key_auth, fake_backend, full_config, inference_config, stack_server
from backends import as_user as as_

from stack_core.testing import StackServer

pytestmark = pytest.mark.integration


def shared_config(backend: str, **server: Any) -> dict[str, Any]:
    config = inference_config(
        ("vllm", "remote::vllm", {"url": f"{backend}/v1"}),
        models=[{"model_id": "chat", "provider_id": "vllm", "provider_model_id": "m"}],
        shields=[{"shield_id": "guard", "provider_id": "regex"}],
        server={"auth": api_key_auth(), **server},
    )
    config["apis"].append("safety")
    config["providers"]["safety"] = [{"provider_id": "regex", "provider_type": "inline::regex"}]
    return config


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    with fake_backend(models="m") as url:
        yield url


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with stack_server(shared_config(backend), tmp_path_factory.mktemp("home")) as server:
        yield server


def backend_calls(backend: str) -> int:
    return int(httpx.get(f"{backend}/__stats").json()["total"])


CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}


def test_config_resources_belong_to_the_operator(server: StackServer) -> None:
    for path in ("/v1/models/chat", "/v1/models/m", "/v1/shields/guard"):
        assert httpx.get(server.url + path, headers=as_("bob")).status_code == 200
        assert httpx.delete(server.url + path, headers=as_("alice")).status_code in (403, 404)
    assert httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=as_("bob")).status_code == 200
    shield = {"shield_id": "guard", "messages": [{"role": "user", "content": "hi"}], "params": {}}
    assert (
        httpx.post(f"{server.url}/v1/safety/run-shield", json=shield, headers=as_("bob")).status_code == 200
    )
    assert httpx.delete(f"{server.url}/v1/models/m", headers=as_("root")).status_code == 204


async def race(urls: tuple[str, str], body: dict[str, Any], rounds: int = 20) -> list[Counter[int]]:
    """``rounds`` times, alice (at ``urls[0]``) and bob (at ``urls[1]``) register one new id at once."""
    async with httpx.AsyncClient(timeout=30) as client:
        results = []
        for i in range(rounds):
            named = {**body, "model_id": f"race-{i}"}
            replies = await asyncio.gather(
                client.post(f"{urls[0]}/v1/models", json=named, headers=as_("alice")),
                client.post(f"{urls[1]}/v1/models", json=named, headers=as_("bob")),
            )
            results.append(Counter(r.status_code for r in replies))
    return results


REGISTRATION = {"provider_id": "vllm", "provider_model_id": "m"}


def test_one_concurrent_registration_wins(server: StackServer) -> None:
    assert asyncio.run(race((server.url, server.url), REGISTRATION)) == [Counter({200: 1, 409: 1})] * 20


def test_a_taken_id_is_the_owners_alone(server: StackServer) -> None:
    body = {**REGISTRATION, "model_id": "taken"}
    post = lambda user, body=body: httpx.post(f"{server.url}/v1/models", json=body, headers=as_(user))  # noqa: E731
    assert post("alice").json()["owner"]["principal"] == "alice"
    assert post("alice").status_code == 200  # idempotent for its owner
    for reply in (
        post("bob"),
        post("bob", {**body, "provider_model_id": "other"}),
        post("alice", {**body, "metadata": {"x": 1}}),
    ):
        assert reply.status_code == 409 and "alice" not in reply.text and "teams" not in reply.text
    assert post("bob", {**REGISTRATION, "model_id": "chat"}).status_code == 409


def rss(server: StackServer) -> int:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) * 1024


def head(path: str, length: int | None = None, host: str = "x") -> bytes:
    framing = f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer sk-bob\r\n"
        f"content-type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


async def status_of(reader: asyncio.StreamReader) -> int:
    async with asyncio.timeout(10):
        line = await reader.readline()
    return int(line.split()[1]) if line else 0


def send_big(port: int, chunked: bool) -> int:
    """The status of a 100 MB request, read while the body is being sent.

    A blocking socket, not asyncio streams: once the server has answered and closed, a write fails
    with EPIPE or ECONNRESET, and asyncio then drops the connection with the answer unread, while
    the kernel still holds it for ``recv``."""
    size = 100 * 1024 * 1024
    block = b"x" * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head("/v1/chat/completions", None if chunked else size))
        with contextlib.suppress(OSError):
            for _ in range(100):
                if select.select([sock], [], [], 0)[0]:  # answered
                    break
                sock.sendall(b"100000\r\n" + block + b"\r\n" if chunked else block)
        with sock.makefile("rb") as reader:
            line = reader.readline()
    return int(line.split()[1]) if line else 0


@pytest.fixture(scope="module")
def limited(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    limits = {"body_timeout": 2, "max_connections": 500, "max_connections_per_client": 20}
    with stack_server(shared_config(backend, **limits), tmp_path_factory.mktemp("home")) as server:
        yield server


def test_a_large_body_is_refused_unread(limited: StackServer) -> None:
    httpx.post(f"{limited.url}/v1/chat/completions", json=CHAT, headers=as_("bob"))  # warm up
    before = rss(limited)
    assert send_big(limited.port, chunked=False) == 413
    assert send_big(limited.port, chunked=True) == 413
    assert rss(limited) - before < 20 * 1024 * 1024


async def drip_while_serving(port: int, url: str, drippers: int) -> tuple[Counter[int], list[int]]:
    """``drippers`` connections from 127.0.0.2 each send a head and one byte of their body, then
    nothing; meanwhile a client at 127.0.0.1 makes requests. Their statuses, and the client's."""
    opened = []
    for _ in range(drippers):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
        writer.write(head("/v1/chat/completions", 1000) + b"{")
        opened.append((reader, writer))
    async with httpx.AsyncClient(timeout=10) as client:
        served = [
            (await client.post(f"{url}/v1/chat/completions", json=CHAT, headers=as_("bob"))).status_code
            for _ in range(10)
        ]
    statuses = Counter(await asyncio.gather(*(status_of(r) for r, _ in opened)))
    for _, writer in opened:
        writer.close()
    return statuses, served


def test_body_drippers_do_not_starve_other_clients(limited: StackServer) -> None:
    statuses, served = asyncio.run(drip_while_serving(limited.port, limited.url, 2000))
    assert served == [200] * 10
    # past the per-client cap: 503 at once; within it: 408 at the body deadline, freeing slots
    assert set(statuses) == {503, 408} and statuses[503] > 1500


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n", 10**6),
        ("max_tokens", 2**63),
        ("max_tokens", 0),
        ("temperature", 2.5),
        ("top_p", -0.1),
        ("presence_penalty", 3),
        ("top_logprobs", 21),
        ("model", "m" * 300),
        ("model", "m\x00"),
    ],
)
def test_out_of_range_parameters_never_reach_the_backend(
    server: StackServer, backend: str, field: str, value: object
) -> None:
    before = backend_calls(backend)
    reply = httpx.post(f"{server.url}/v1/chat/completions", json={**CHAT, field: value}, headers=as_("bob"))
    assert reply.status_code == 400 and reply.json()["error"]["param"] == field
    assert len(reply.json()["error"]["message"]) < 300
    assert backend_calls(backend) == before


def test_long_identifiers_are_quoted_briefly(server: StackServer) -> None:
    reply = httpx.get(f"{server.url}/v1/models/{'q' * 250}", headers=as_("bob"))
    assert reply.status_code == 404 and "q" * 65 not in reply.json()["error"]["message"]
    assert httpx.get(f"{server.url}/v1/models/{'q' * 300}", headers=as_("bob")).status_code == 400


def test_url_credentials_are_never_shown(backend: str, tmp_path: Path) -> None:
    secret = "hunter2"
    config = inference_config(
        ("vllm", "remote::vllm", {"url": backend.replace("://", f"://user:{secret}@") + "/v1"}),
        ("down", "remote::vllm", {"url": f"http://user:{secret}@127.0.0.1:9/v1", "max_retries": 0}),
        models=[{"model_id": "gone", "provider_id": "down", "provider_model_id": "m"}],
    )
    with stack_server(config, tmp_path) as server:
        served = httpx.post(f"{server.url}/v1/chat/completions", json={**CHAT, "model": "m"})
        providers = httpx.get(f"{server.url}/v1/providers").text
        failed = httpx.post(f"{server.url}/v1/chat/completions", json={**CHAT, "model": "gone"})
        streamed = httpx.post(
            f"{server.url}/v1/chat/completions", json={**CHAT, "model": "gone", "stream": True}
        )
        log = server.log()
    assert served.status_code == 200 and failed.status_code == 503 and "down" in failed.text
    assert "//**********@127.0.0.1" in providers
    for shown in (providers, failed.text, streamed.text, log):
        assert secret not in shown


def test_url_credentials_and_an_api_key_are_refused_at_start(backend: str, tmp_path: Path) -> None:
    url = backend.replace("://", "://user:hunter2@") + "/v1"
    config = inference_config(("vllm", "remote::vllm", {"url": url, "api_key": "sk-x"}))
    with pytest.raises(RuntimeError) as failed, stack_server(config, tmp_path):
        pass
    assert "credentials" in str(failed.value) and "hunter2" not in str(failed.value)


def control(backend: str, **settings: object) -> None:
    httpx.post(f"{backend}/__control", json={"reset": True, **settings}).raise_for_status()


@pytest.mark.parametrize("reply", ["<html>busy</html>", "", '{"choices": [', "not json"])
def test_a_reply_that_is_not_json_is_a_bad_gateway(server: StackServer, backend: str, reply: str) -> None:
    control(backend, bad_reply=reply)
    try:
        answer = httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=as_("bob"))
        streamed = httpx.post(
            f"{server.url}/v1/chat/completions", json={**CHAT, "stream": True}, headers=as_("bob")
        )
    finally:
        control(backend)
    for failed in (answer, streamed):
        assert failed.status_code == 502 and failed.json()["error"]["provider_id"] == "vllm"
        assert failed.headers["content-type"] == "application/json"


def test_retry_after_is_respected(server: StackServer, backend: str) -> None:
    control(backend, fail_next=1, status=429, retry_after=7)
    try:
        refused = httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=as_("bob"))
        calls = backend_calls(backend)
        control(backend, fail_next=1, status=429, retry_after=0.5)
        began = time.monotonic()
        retried = httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=as_("bob"))
        waited = time.monotonic() - began
    finally:
        control(backend)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "7" and calls == 1
    assert retried.status_code == 200 and waited >= 0.5


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with (
        fake_backend(models="m,embed") as url,
        stack_server(full_config(url), tmp_path_factory.mktemp("home")) as server,
    ):
        yield server


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "/v1/vector-io/query",
            {"vector_db_id": "docs", "query": "q", "params": {"filters": {"type": []}}},
        ),
        (
            "POST",
            "/v1/vector-io/query",
            {"vector_db_id": "docs", "query": "q", "params": {"filters": {"type": {}, "key": "k"}}},
        ),
        ("POST", "/v1/vector_stores", {"name": "s", "metadata": {"k": 2**64}}),
        (
            "POST",
            "/v1/vector_stores",
            {"name": "s", "embedding_model": "embed", "embedding_dimension": 22248656763},
        ),
        (
            "POST",
            "/v1/vector-dbs",
            {"vector_db_id": "big", "embedding_model": "embed", "embedding_dimension": 22248656763},
        ),
        ("POST", "/v1/vector_stores", {"name": "s\x00"}),
    ],
)
def test_fuzzer_findings_are_bad_requests(
    full: StackServer, method: str, path: str, body: dict[str, Any]
) -> None:
    assert httpx.request(method, full.url + path, json=body).status_code == 400


def test_file_names_any_script_no_control_characters(full: StackServer) -> None:
    name = "отчёт 2024 «итог».txt"
    created = httpx.post(
        f"{full.url}/v1/files", files={"file": (name, b"hello")}, data={"purpose": "assistants"}
    )
    content = httpx.get(f"{full.url}/v1/files/{created.json()['id']}/content")
    assert content.status_code == 200 and content.content == b"hello"
    assert content.headers["content-disposition"].endswith("filename*=UTF-8''" + quote(name, safe=""))
    form = (
        b'--B\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        b'--B\r\ncontent-disposition: form-data; name="file"; filename="a\x00b.txt"\r\n\r\nx\r\n--B--\r\n'
    )
    headers = {"content-type": "multipart/form-data; boundary=B"}
    refused = httpx.post(f"{full.url}/v1/files", content=form, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "file"


def test_openapi_documents_every_answer(full: StackServer) -> None:
    document = httpx.get(f"{full.url}/openapi.json").json()
    chat = document["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert {"409", "413", "429", "502", "503", "504"} <= set(chat)
    stream = chat["200"]["content"]["text/event-stream"]
    assert stream["schema"]["type"] == "string" and "x-event-schema" in stream
