"""`stack run` as a real process: restart persistence, crash safety, TLS, workers, SIGTERM, start-up
messages (one banner; a failure is one line and exit 2, with one worker or several)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from backends import fake_backend, inference_config, stack_server
from tls import client_certificate, self_signed

from stack_core.testing import StackServer, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    with fake_backend(models="m1,m2") as url:
        yield url


def config_for(backend: str, **extra: object) -> dict[str, object]:
    return inference_config(("vllm", "remote::vllm", {"url": f"{backend}/v1"}), **extra)


def test_registered_model_survives_restart_and_sigterm_is_graceful(backend: str, tmp_path: Path) -> None:
    config = config_for(backend)
    with stack_server(config, tmp_path) as server:
        body = {"model_id": "alias", "provider_id": "vllm", "provider_model_id": "m2"}
        assert httpx.post(f"{server.url}/v1/models", json=body).status_code == 200
        assert server.stop() == 0
    with stack_server(config, tmp_path) as server:
        model = httpx.get(f"{server.url}/v1/models/alias").json()
    assert model["provider_resource_id"] == "m2"


def test_sigkill_during_writes_never_corrupts_the_registry(backend: str, tmp_path: Path) -> None:
    config = config_for(backend)
    with stack_server(config, tmp_path) as server:

        async def hammer() -> None:
            async with httpx.AsyncClient(base_url=server.url) as client:
                for i in range(40):
                    body = {"model_id": f"a{i}", "provider_id": "vllm", "provider_model_id": "m1"}
                    await client.post("/v1/models", json=body)

        async def kill_soon() -> None:
            await asyncio.sleep(0.15)
            assert server.process is not None
            server.process.send_signal(signal.SIGKILL)

        async def both() -> None:
            results = await asyncio.gather(hammer(), kill_soon(), return_exceptions=True)
            assert isinstance(results[0], httpx.HTTPError | type(None))

        asyncio.run(both())
    database = tmp_path / "default" / "registry.db"
    assert sqlite3.connect(database).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with stack_server(config, tmp_path) as server:
        ids = {m["id"] for m in httpx.get(f"{server.url}/v1/models").json()["data"]}
    aliases = sorted(int(i[1:]) for i in ids if i.startswith("a"))
    assert aliases == list(range(len(aliases)))


def test_https_with_a_self_signed_certificate(backend: str, tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    config = config_for(backend, server={"tls_certfile": str(certfile), "tls_keyfile": str(keyfile)})
    env = {"STACK_HOME": str(tmp_path)}
    with StackServer(config, env=env, scheme="https") as server:
        trusted = ssl.create_default_context(cafile=str(certfile))
        assert httpx.get(f"{server.url}/v1/health", verify=trusted).json() == {"status": "OK"}
        with pytest.raises(httpx.HTTPError):
            httpx.get(server.url.replace("https", "http") + "/v1/health")


def test_the_banner_is_printed_once_and_hypercorn_adds_none(backend: str, tmp_path: Path) -> None:
    with stack_server(config_for(backend), tmp_path) as server:
        assert server.stop() == 0
        log = server.log()
    assert log.count("Stack serving on http://127.0.0.1:") == 1 and "Running on" not in log


def test_two_workers_share_the_registry(backend: str, tmp_path: Path) -> None:
    with stack_server(config_for(backend), tmp_path, args=("--workers", "2")) as server:
        body = {"model_id": "shared", "provider_id": "vllm", "provider_model_id": "m1"}
        assert httpx.post(f"{server.url}/v1/models", json=body).status_code == 200
        chat = {"model": "shared", "messages": [{"role": "user", "content": "x"}]}
        seen = set()
        for _ in range(20):
            with httpx.Client() as client:  # a new connection each time, so both workers answer
                seen.add(client.get(f"{server.url}/v1/models/shared").status_code)
                seen.add(client.post(f"{server.url}/v1/chat/completions", json=chat).status_code)
        assert seen == {200}
        assert server.stop() == 0
        log = server.log()
    assert log.count("Stack serving on") == 1 and "(2 worker(s))" in log and "Running on" not in log


def test_client_certificates_are_required_with_tls_cafile(backend: str, tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    client_cert, client_key = client_certificate(tmp_path, certfile, keyfile)
    server = {"tls_certfile": str(certfile), "tls_keyfile": str(keyfile), "tls_cafile": str(certfile)}
    trusted = ssl.create_default_context(cafile=str(certfile))
    with_cert = ssl.create_default_context(cafile=str(certfile))
    with_cert.load_cert_chain(str(client_cert), str(client_key))
    process = StackServer(
        config_for(backend, server=server), env={"STACK_HOME": str(tmp_path)}, scheme="https"
    )
    process.health_context = with_cert
    with process:
        assert httpx.get(f"{process.url}/v1/health", verify=with_cert).json() == {"status": "OK"}
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{process.url}/v1/health", verify=trusted)


def sockets_of(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if fd.readlink().as_posix().startswith("socket:"))


def test_connections_closed_by_clients_are_released(backend: str, tmp_path: Path) -> None:
    """Hypercorn keeps a connection the client closed until the keep-alive timeout passes: with
    ``server.keep_alive_timeout`` short, 100 one-shot clients leave no sockets behind."""
    with stack_server(config_for(backend, server={"keep_alive_timeout": 1}), tmp_path) as server:
        assert server.process is not None
        httpx.get(f"{server.url}/v1/models").raise_for_status()
        time.sleep(1.5)
        before = sockets_of(server.process.pid)
        for _ in range(100):
            httpx.get(f"{server.url}/v1/version").raise_for_status()  # a connection each
        assert sockets_of(server.process.pid) > before + 10  # those of the last second are still held
        time.sleep(2.5)
        assert sockets_of(server.process.pid) <= before + 2


def stack_run(
    config: dict[str, object], tmp_path: Path, port: int, *args: str
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "STACK_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "stack_core.cli", "run", str(path), "--port", str(port), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


FILES = {"providers": {"files": [{"provider_id": "f", "provider_type": "inline::localfs"}]}}


def test_start_up_failures_are_one_message_and_exit_2(tmp_path: Path) -> None:
    bad = {"providers": {"files": [{**FILES["providers"]["files"][0], "config": {"colour": "blue"}}]}}
    refused = stack_run(bad, tmp_path, free_port())
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "providers.files[0].config.colour: unknown field" in refused.stderr
    assert "Stack serving on" not in refused.stdout
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = stack_run(FILES, tmp_path, port)
    assert busy.returncode == 2 and "Traceback" not in busy.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in busy.stderr
    assert "Stack serving on" not in busy.stdout
    store = {"type": "sql", "url": "postgresql+asyncpg://u:hunter2@127.0.0.1:9/db"}
    no_database = stack_run({**FILES, "metadata_store": store}, tmp_path, free_port())
    assert no_database.returncode == 2 and "Traceback" not in no_database.stderr
    assert "metadata_store: cannot open the stack's database" in no_database.stderr
    assert "hunter2" not in no_database.stderr


def test_a_worker_that_cannot_start_is_one_message_and_exit_2(tmp_path: Path) -> None:
    store = {"type": "sql", "url": "postgresql+asyncpg://u:hunter2@127.0.0.1:9/db"}
    failed = stack_run({**FILES, "metadata_store": store}, tmp_path, free_port(), "--workers", "2")
    assert failed.returncode == 2 and "Traceback" not in failed.stderr, failed.stderr
    assert failed.stderr.count("error: metadata_store: cannot open the stack's database") == 1
    assert "Stack serving on" not in failed.stdout and "hunter2" not in failed.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = stack_run(FILES, tmp_path, port, "--workers", "2")
    assert busy.returncode == 2 and "Traceback" not in busy.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in busy.stderr
