"""remote::vllm against the fake backend over real sockets: conformance, federation, resilience."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from backends import fake_backend, inference_config, stack_server

from stack_core.cli import main
from stack_core.testing import InferenceConformance, StackServer, Target, free_port


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[str, str]]:
    with (
        fake_backend(models="llama-a", embedding_models="embed-a") as one,
        fake_backend(models="llama-b") as two,
    ):
        yield one, two


@pytest.fixture(scope="module")
def server(backends: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    one, two = backends
    config = inference_config(
        ("vllm-1", "remote::vllm", {"url": f"{one}/v1"}),
        ("vllm-2", "remote::vllm", {"url": f"{two}/v1", "max_retries": 0}),
    )
    with stack_server(config, tmp_path_factory.mktemp("home")) as server:
        yield server


class TestVLLMConformance(InferenceConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return Target(
            url=server.url, chat_model="llama-a", embedding_model="embed-a", embedding_dimension=384
        )


def test_federation_routes_each_model_to_its_backend(server: StackServer) -> None:
    for model in ("llama-a", "llama-b"):
        body = {"model": model, "messages": [{"role": "user", "content": "who are you"}]}
        reply = httpx.post(f"{server.url}/v1/chat/completions", json=body).json()
        assert reply["choices"][0]["message"]["content"] == f"[{model}] echo: who are you"
    models = httpx.get(f"{server.url}/v1/models").json()["data"]
    assert {(m["id"], m["provider_id"]) for m in models} >= {("llama-a", "vllm-1"), ("llama-b", "vllm-2")}


def test_registering_a_model_the_backend_does_not_serve_is_refused(server: StackServer) -> None:
    body = {"model_id": "gpt-9", "provider_id": "vllm-1"}
    response = httpx.post(f"{server.url}/v1/models", json=body)
    assert response.status_code == 400
    assert "does not serve model 'gpt-9'" in response.text and "llama-a" in response.text


def test_backend_errors_are_mapped_with_the_provider_named(
    server: StackServer, backends: tuple[str, str]
) -> None:
    httpx.post(f"{backends[1]}/__control", json={"fail_next": 1, "status": 500})
    body = {"model": "llama-b", "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body)
    assert response.status_code == 502 and response.json()["error"]["provider_id"] == "vllm-2"


def test_busy_backend_is_retried(server: StackServer, backends: tuple[str, str]) -> None:
    httpx.post(f"{backends[0]}/__control", json={"reset": True, "fail_next": 2, "status": 503})
    body = {"model": "llama-a", "messages": [{"role": "user", "content": "x"}]}
    assert httpx.post(f"{server.url}/v1/chat/completions", json=body).status_code == 200
    stats = httpx.get(f"{backends[0]}/__stats").json()
    assert stats["paths"]["/v1/chat/completions"] == 3


def test_stream_broken_by_the_backend_ends_with_an_error_event(
    server: StackServer, backends: tuple[str, str]
) -> None:
    httpx.post(f"{backends[0]}/__control", json={"reset": True, "stream_fail_after": 2})
    body = {"model": "llama-a", "messages": [{"role": "user", "content": "x y z"}], "stream": True}
    try:
        text = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=10).text
    finally:
        httpx.post(f"{backends[0]}/__control", json={"reset": True})
    assert '"error"' in text.split("\n\n")[-2] and "vllm-1" in text and "[DONE]" not in text


def test_a_client_leaving_a_stream_stops_the_upstream_stream(
    server: StackServer, backends: tuple[str, str]
) -> None:
    httpx.post(f"{backends[0]}/__control", json={"reset": True, "chunk_delay_ms": 100})
    body = {"model": "llama-a", "messages": [{"role": "user", "content": "x"}], "stream": True}
    headers = {"x-fake-chunks": "50"}  # five seconds of events
    try:
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, headers=headers) as reply:
            events = reply.iter_lines()
            assert next(line for line in events if line.startswith("data: "))
        deadline = time.monotonic() + 2.0
        while httpx.get(f"{backends[0]}/__stats").json()["abandoned_streams"] == 0:
            assert time.monotonic() < deadline, "the backend is still streaming to nobody"
            time.sleep(0.05)
        assert httpx.get(f"{server.url}/v1/health").status_code == 200
    finally:
        httpx.post(f"{backends[0]}/__control", json={"reset": True})


def test_readiness_is_503_while_an_api_has_no_healthy_provider(tmp_path: Path) -> None:
    down = {"url": "http://127.0.0.1:9/v1", "max_retries": 0, "connect_timeout": 1}
    with stack_server(inference_config(("down", "remote::vllm", down)), tmp_path) as server:
        assert httpx.get(f"{server.url}/v1/health").status_code == 200  # alive
        ready = httpx.get(f"{server.url}/v1/health/ready")
    assert ready.status_code == 503
    assert ready.json() == {"status": "Unavailable", "providers": {"down": "Error"}}


def test_backend_down_at_start(tmp_path: Path) -> None:
    with fake_backend(models="up-model") as up:
        config = inference_config(
            ("up", "remote::vllm", {"url": f"{up}/v1"}),
            (
                "down",
                "remote::vllm",
                {"url": "http://127.0.0.1:9/v1", "max_retries": 0, "connect_timeout": 1},
            ),
            models=[{"model_id": "down-model", "provider_id": "down"}],
        )
        with stack_server(config, tmp_path) as server:
            assert httpx.get(f"{server.url}/v1/health").json() == {"status": "OK"}
            providers = {p["provider_id"]: p for p in httpx.get(f"{server.url}/v1/providers").json()["data"]}
            assert providers["down"]["health"]["status"] == "Error"
            assert providers["up"]["health"]["status"] == "OK"
            ready = httpx.get(f"{server.url}/v1/health/ready")  # one healthy provider serves inference
            assert ready.status_code == 200 and ready.json()["providers"]["down"] == "Error"
            body = {"model": "down-model", "messages": [{"role": "user", "content": "x"}]}
            down = httpx.post(f"{server.url}/v1/chat/completions", json=body)
            assert down.status_code == 503 and down.json()["error"]["provider_id"] == "down"
            body["model"] = "up-model"
            assert httpx.post(f"{server.url}/v1/chat/completions", json=body).status_code == 200


def test_assembled_from_vllm_url_with_no_config(tmp_path: Path) -> None:
    with fake_backend(models="served-by-vllm") as url:
        env = {"STACK_HOME": str(tmp_path), "VLLM_URL": f"{url}/v1"}
        with StackServer(None, env=env) as server:
            models = httpx.get(f"{server.url}/v1/models").json()["data"]
    assert [m["id"] for m in models if m["provider_id"] == "vllm"] == ["served-by-vllm"]


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_refresh_models_follows_the_backend(tmp_path: Path) -> None:
    with fake_backend(models="first") as url:
        config = inference_config(
            ("v", "remote::vllm", {"url": f"{url}/v1", "refresh_models": True, "refresh_interval": 1})
        )
        with stack_server(config, tmp_path) as server:

            def listed() -> set[str]:
                return {m["id"] for m in httpx.get(f"{server.url}/v1/models").json()["data"]}

            assert listed() == {"first"}
            httpx.post(f"{url}/__control", json={"models": ["second"]})
            assert wait_for(lambda: listed() == {"second"})


def test_provider_recovers_when_its_backend_comes_back(tmp_path: Path) -> None:
    port = free_port()
    config = inference_config(
        (
            "late",
            "remote::vllm",
            {"url": f"http://127.0.0.1:{port}/v1", "max_retries": 0, "refresh_interval": 1},
        ),
        models=[{"model_id": "declared", "provider_id": "late", "provider_model_id": "late-model"}],
    )
    body = {"model": "declared", "messages": [{"role": "user", "content": "back?"}]}
    with stack_server(config, tmp_path) as server:
        assert httpx.post(f"{server.url}/v1/chat/completions", json=body).status_code == 503
        with fake_backend(models="late-model,extra", port=port):
            reply = httpx.post(f"{server.url}/v1/chat/completions", json=body)
            assert reply.status_code == 200 and "back?" in reply.text
            assert wait_for(lambda: "extra" in httpx.get(f"{server.url}/v1/models").text)
            health = httpx.get(f"{server.url}/v1/providers/late").json()["health"]
            assert health["status"] == "OK"


def test_slow_backend_times_out_with_504(tmp_path: Path) -> None:
    with fake_backend(models="slow") as url:
        config = inference_config(
            ("v", "remote::vllm", {"url": f"{url}/v1", "timeout": 0.3, "max_retries": 0})
        )
        with stack_server(config, tmp_path) as server:
            httpx.post(f"{url}/__control", json={"latency_ms": 1500})
            body = {"model": "slow", "messages": [{"role": "user", "content": "x"}]}
            reply = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=10)
    assert reply.status_code == 504 and reply.json()["error"]["provider_id"] == "v"


def test_listed_by_the_cli_with_its_package_and_env_var(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-providers", "inference"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert rows and all(row.startswith("inference") for row in rows)
    assert any("remote::vllm" in row and "stack-provider-vllm" in row and "VLLM_URL" in row for row in rows)
