"""The official SDKs, unmodified, against `stack run` federating two fake backends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import openai
import pytest
from backends import fake_backend, inference_config, stack_server
from llama_stack_client import LlamaStackClient

from stack_core.testing import StackServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with (
        fake_backend(models="model-a", embedding_models="embed-a") as one,
        fake_backend(models="model-b") as two,
    ):
        config = inference_config(
            ("backend-1", "remote::vllm", {"url": f"{one}/v1"}),
            ("backend-2", "remote::ollama", {"url": two}),
        )
        with stack_server(config, tmp_path_factory.mktemp("home")) as server:
            yield server


@pytest.fixture
def client(server: StackServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused") as client:
        yield client


def test_openai_chat_is_federated(client: openai.OpenAI) -> None:
    for model in ("model-a", "model-b"):
        reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "ping"}])
        assert reply.choices[0].message.content == f"[{model}] echo: ping"


def test_openai_chat_streaming(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="model-b",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "[model-b] echo: one two three"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_llama_stack_client_streams_on_its_paths(server: StackServer) -> None:
    """The 0.2 client parses every event as JSON: its /v1/openai/v1 streams end without [DONE]."""
    client = LlamaStackClient(base_url=server.url)
    messages = [{"role": "user", "content": "one two three"}]
    chunks = list(client.chat.completions.create(model="model-a", messages=messages, stream=True))  # type: ignore[arg-type]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "[model-a] echo: one two three"
    completion = list(client.completions.create(model="model-a", prompt="four five", stream=True))
    assert "".join(c.choices[0].text or "" for c in completion if c.choices).endswith("four five")


@pytest.mark.parametrize("prefix", ["/v1", "/v1/openai/v1"])
def test_openai_sdk_streams_on_both_route_families(server: StackServer, prefix: str) -> None:
    client = openai.OpenAI(base_url=f"{server.url}{prefix}", api_key="unused")
    stream = client.chat.completions.create(
        model="model-b", messages=[{"role": "user", "content": "six seven"}], stream=True
    )
    assert (
        "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "[model-b] echo: six seven"
    )


def test_done_ends_openai_streams_and_not_the_llama_stack_ones(server: StackServer) -> None:
    body = {"model": "model-a", "messages": [{"role": "user", "content": "x"}], "stream": True}
    openai_text = httpx.post(f"{server.url}/v1/chat/completions", json=body).text
    alias_text = httpx.post(f"{server.url}/v1/openai/v1/chat/completions", json=body).text
    assert openai_text.endswith("data: [DONE]\n\n") and "[DONE]" not in alias_text
    assert openai_text.removesuffix("data: [DONE]\n\n").count("data: ") == alias_text.count("data: ") > 1


def test_openai_async_client_streaming(server: StackServer) -> None:
    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="x") as aclient:
            stream = await aclient.chat.completions.create(
                model="model-a", messages=[{"role": "user", "content": "async"}], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert asyncio.run(run()) == "[model-a] echo: async"


def test_openai_completions_embeddings_models(client: openai.OpenAI) -> None:
    completion = client.completions.create(model="model-a", prompt="hello there")
    assert completion.choices[0].text
    embeddings = client.embeddings.create(model="embed-a", input=["a", "b"])
    assert len(embeddings.data) == 2 and len(embeddings.data[0].embedding) == 384
    assert {"model-a", "model-b", "embed-a"} <= {m.id for m in client.models.list()}


def test_openai_sdk_raises_not_found_for_unknown_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="model-z"):
        client.chat.completions.create(model="model-z", messages=[{"role": "user", "content": "x"}])


def test_openai_sdk_under_the_openai_prefix(server: StackServer) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1/openai/v1", api_key="x")
    reply = client.chat.completions.create(model="model-a", messages=[{"role": "user", "content": "p"}])
    assert reply.choices[0].message.content == "[model-a] echo: p"
    assert "model-a" in {m.id for m in client.models.list()}


def test_llama_stack_client_models_lifecycle(server: StackServer) -> None:
    client = LlamaStackClient(base_url=server.url)
    assert {"model-a", "model-b"} <= {m.identifier for m in client.models.list()}
    registered = client.models.register(
        model_id="alias-a", provider_id="backend-1", provider_model_id="model-a"
    )
    assert registered.identifier == "alias-a" and registered.provider_resource_id == "model-a"
    retrieved = client.models.retrieve("alias-a")
    assert retrieved.provider_id == "backend-1" and retrieved.api_model_type == "llm"
    reply = client.chat.completions.create(
        model="alias-a", messages=[{"role": "user", "content": "via alias"}]
    )
    assert reply.choices[0].message.content == "[model-a] echo: via alias"
    client.models.unregister("alias-a")
    assert "alias-a" not in {m.identifier for m in client.models.list()}


def test_llama_stack_client_inspect_and_providers(server: StackServer) -> None:
    client = LlamaStackClient(base_url=server.url)
    assert client.inspect.health().status == "OK"
    assert client.inspect.version().version
    providers = {p.provider_id: p for p in client.providers.list()}
    assert providers["backend-2"].provider_type == "remote::ollama"
    assert client.providers.retrieve("backend-1").health["status"] == "OK"
    assert any(r.route == "/v1/chat/completions" for r in client.routes.list())
