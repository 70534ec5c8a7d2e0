"""The third-party path: external packages built as wheels, installed beside stack-core in a fresh
virtualenv, and served by ``stack run`` with no config file.

The venv is built once per session; each server is a real process on a real socket.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("stack-provider-shout", "stack-api-notes")
NOTES_ROUTES = {
    ("POST", "/v1/notes"),
    ("GET", "/v1/notes"),
    ("GET", "/v1/notes/{note_id}"),
    ("DELETE", "/v1/notes/{note_id}"),
}
START_TIMEOUT_S = 60.0


def _run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(a) for a in args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding stack-core (from core/) and the two external packages as wheels."""
    root = tmp_path_factory.mktemp("external")
    wheels = root / "wheels"
    for package in PACKAGES:
        _run(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            wheels,
            REPO / "external_providers" / package,
        )
    built = sorted(wheels.glob("*.whl"))
    assert len(built) == len(PACKAGES), f"expected {len(PACKAGES)} wheels, got {built}"
    _run(sys.executable, "-m", "venv", root / "venv")
    bin_dir = root / "venv" / "bin"
    _run(
        bin_dir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", REPO / "core", *built
    )
    return bin_dir


def _env(home: Path) -> dict[str, str]:
    drop = {"STACK_CONFIG", "STACK_PLUGINS", "STACK_DISABLE_PLUGINS", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["STACK_HOME"] = str(home)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        assert self.process.returncode is not None


def start_server(bin_dir: Path, home: Path) -> Server:
    """``stack run --port N`` with no config file; returns once /v1/health answers."""
    port = _free_port()
    log = home.parent / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(bin_dir / "stack"), "run", "--port", str(port)],
            env=_env(home),
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=home.parent,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"stack run exited with {process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/v1/health", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    pytest.fail(f"stack run did not answer /v1/health within {START_TIMEOUT_S}s:\n{server.output()}")


@pytest.fixture(scope="module")
def server(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(venv, tmp_path_factory.mktemp("served") / "home")
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        yield http


@pytest.fixture
def openai_client(server: Server) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0) as sdk:
        yield sdk


def test_providers_lists_both_external_providers(client: httpx.Client) -> None:
    providers = {p["provider_type"]: p for p in client.get("/v1/providers").json()["data"]}
    assert providers["inline::shout"]["api"] == "inference"
    assert providers["inline::shout"]["config"] == {"suffix": "!"}
    assert providers["inline::notes-sqlite"]["api"] == "notes"
    assert providers["inline::notes-sqlite"]["health"] == {"status": "OK"}


def test_inspect_routes_include_the_new_api(client: httpx.Client) -> None:
    routes = {(r["method"], r["route"]): r for r in client.get("/v1/inspect/routes").json()["data"]}
    assert set(routes) >= NOTES_ROUTES
    assert routes[("POST", "/v1/notes")]["provider_types"] == ["inline::notes-sqlite"]
    assert routes[("POST", "/v1/chat/completions")]["provider_types"] == ["inline::shout"]


def test_openapi_documents_the_new_api(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/notes", "/v1/notes/{note_id}"} <= set(paths)


def test_models_lists_what_the_provider_serves(client: httpx.Client) -> None:
    models = {m["identifier"]: m for m in client.get("/v1/models").json()["data"]}
    assert models["shout-1"]["provider_id"] == "shout"
    assert models["shout-embed"]["model_type"] == "embedding"
    assert models["shout-embed"]["metadata"] == {"embedding_dimension": 8}


def test_register_model_the_provider_does_not_serve_is_refused(client: httpx.Client) -> None:
    response = client.post("/v1/models", json={"model_id": "gpt-9", "provider_id": "shout"})
    assert response.status_code == 400
    assert "shout-1" in response.json()["error"]["message"]
    alias = client.post("/v1/models", json={"model_id": "loud", "provider_model_id": "shout-1"})
    assert alias.status_code == 200, alias.text
    assert client.delete("/v1/models/loud").status_code == 204


def test_chat_completion_through_the_openai_sdk(openai_client: OpenAI) -> None:
    reply = openai_client.chat.completions.create(
        model="shout-1",
        messages=[{"role": "system", "content": "be loud"}, {"role": "user", "content": "hi there"}],
    )
    assert reply.choices[0].message.content == "HI THERE!"
    assert reply.model == "shout-1"


def test_streaming_chat_completion_through_the_openai_sdk(openai_client: OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="shout-1",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    words = [c.choices[0].delta.content for c in chunks if c.choices]
    assert words == ["ONE", " TWO", " THREE!"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3


def test_completion_and_embeddings_through_the_openai_sdk(openai_client: OpenAI) -> None:
    assert openai_client.completions.create(model="shout-1", prompt="psst").choices[0].text == "PSST!"
    first = openai_client.embeddings.create(model="shout-embed", input=["a", "b"])
    again = openai_client.embeddings.create(model="shout-embed", input="a", encoding_format="float")
    assert [len(d.embedding) for d in first.data] == [8, 8]
    assert again.data[0].embedding == pytest.approx(first.data[0].embedding, rel=1e-6)


def test_unknown_model_is_a_404_naming_the_registered_ones(client: httpx.Client) -> None:
    response = client.post(
        "/v1/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.status_code == 404
    assert "shout-1" in response.json()["error"]["message"]


def test_notes_crud(client: httpx.Client) -> None:
    created = client.post("/v1/notes", json={"title": "groceries", "content": "milk", "tags": ["home"]})
    assert created.status_code == 200, created.text
    note = created.json()
    assert note["id"].startswith("note-") and note["object"] == "note"
    assert client.get(f"/v1/notes/{note['id']}").json() == note
    assert note in client.get("/v1/notes", params={"limit": 5}).json()["data"]
    assert client.delete(f"/v1/notes/{note['id']}").status_code == 204
    missing = client.get(f"/v1/notes/{note['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "note_not_found"
    assert client.post("/v1/notes", json={"title": "x", "colour": "red"}).status_code == 400


def test_notes_survive_a_restart(venv: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = start_server(venv, home)
    try:
        note = httpx.post(f"{first.url}/v1/notes", json={"title": "keep me"}, timeout=10.0).json()
    finally:
        first.stop()
    assert first.process.returncode == 0, first.output()
    second = start_server(venv, home)
    try:
        kept = httpx.get(f"{second.url}/v1/notes/{note['id']}", timeout=10.0)
        assert kept.status_code == 200, kept.text
        assert kept.json() == note
    finally:
        second.stop()


def test_cli_lists_the_external_provider_and_api(venv: Path, tmp_path: Path) -> None:
    env = _env(tmp_path / "home")
    providers = _run(venv / "stack", "list-providers", env=env)
    assert "inline::shout" in providers.stdout and "stack-provider-shout" in providers.stdout
    assert "inline::notes-sqlite" in providers.stdout and "stack-api-notes" in providers.stdout
    assert "warning" not in providers.stderr
    apis = _run(venv / "stack", "list-apis", env=env)
    assert any(line.split()[:2] == ["notes", "4"] for line in apis.stdout.splitlines()), apis.stdout
