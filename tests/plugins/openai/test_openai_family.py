"""The hosted OpenAI-compatible family: secrets, per-request keys, conformance."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from backends import fake_backend, inference_config, stack_server

from stack_core.testing import InferenceConformance, StackServer, Target

KEY = "sk-test-upstream-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with fake_backend(models="gpt-x", embedding_models="text-embedding-x", api_key=KEY) as url:
        config = inference_config(
            ("openai", "remote::openai", {"url": f"{url}/v1", "api_key": KEY}),
            ("together", "remote::together", {"url": f"{url}/v1"}),
        )
        with stack_server(config, tmp_path_factory.mktemp("home")) as server:
            yield server


class TestOpenAIConformance(InferenceConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return Target(url=server.url, chat_model="gpt-x", embedding_model="text-embedding-x")


def test_api_key_is_never_shown(server: StackServer) -> None:
    providers = httpx.get(f"{server.url}/v1/providers").text
    assert KEY not in providers and "**********" in providers
    assert KEY not in server.log()


def test_hosted_provider_uses_the_per_request_key(server: StackServer) -> None:
    body = {"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]}
    httpx.post(
        f"{server.url}/v1/models",
        json={"model_id": "t-gpt", "provider_id": "together", "provider_model_id": "gpt-x"},
    )
    body["model"] = "t-gpt"
    refused = httpx.post(f"{server.url}/v1/chat/completions", json=body)
    assert refused.status_code == 502 and refused.json()["error"]["provider_id"] == "together"
    header = {"X-Stack-Provider-Data": json.dumps({"together_api_key": KEY})}
    accepted = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=header)
    assert accepted.status_code == 200, accepted.text
