"""file_search over the stack's vector stores (localfs files, faiss, real MiniLM embeddings), the
fake backend scripted to call it: the right chunk reaches the model, narrowed by ``filters`` and
``max_num_results``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from backends import stack_server
from responses_stack import MODEL, responses_config

from stack_core.testing import StackServer

FILES = (
    ("keeper.txt", b"The lighthouse keeper logs every passing ship in a leather journal.", "north"),
    ("pilots.txt", b"Harbour pilots guide the passing ships into port at night.", "south"),
    ("bakery.txt", b"The baker bakes sourdough bread every morning before dawn.", "south"),
)


def entry(provider_id: str, provider_type: str, **config: Any) -> dict[str, Any]:
    return {"provider_id": provider_id, "provider_type": provider_type, "config": config}


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    providers = {
        "inference": [
            entry("vllm", "remote::vllm", url=f"{backend}/v1"),
            entry("embeddings", "inline::sentence-transformers"),
        ],
        "vector_io": [entry("faiss", "inline::faiss")],
        "files": [entry("files", "inline::localfs")],
        "vector_stores": [entry("vector_stores", "inline::vector-stores")],
    }
    with stack_server(responses_config(backend, providers), tmp_path_factory.mktemp("home")) as server:
        yield server


@pytest.fixture(scope="module")
def store_id(server: StackServer) -> str:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", timeout=120) as client:
        store = client.vector_stores.create(name="harbour")
        for name, text, side in FILES:
            done = client.vector_stores.files.upload_and_poll(
                vector_store_id=store.id,
                file=(name, io.BytesIO(text)),
                attributes={"side": side},
                poll_interval_ms=50,
            )
            assert done.status == "completed"
        return store.id


def search(client: openai.OpenAI, store_id: str, question: str, **tool: Any) -> Any:
    spec: Any = {"type": "file_search", "vector_store_ids": [store_id], **tool}
    return client.responses.create(
        model=MODEL, input=question, tools=[spec], tool_choice={"type": "file_search"}
    )


def test_file_search_gives_the_model_the_right_chunk(client: openai.OpenAI, store_id: str) -> None:
    response = search(client, store_id, "Who logs the passing ships in a journal?", max_num_results=1)
    [call, answer] = response.output
    assert call.type == "file_search_call" and call.status == "completed" and len(call.queries) == 1
    assert [r.filename for r in call.results or []] == ["keeper.txt"]
    assert answer.type == "message" and "lighthouse keeper logs every passing ship" in response.output_text


def test_file_search_filters_and_max_num_results(client: openai.OpenAI, store_id: str) -> None:
    south = {"type": "eq", "key": "side", "value": "south"}
    response = search(client, store_id, "Who logs the passing ships?", filters=south, max_num_results=2)
    [call, _] = response.output
    results = call.results or []  # type: ignore[union-attr]
    assert [r.filename for r in results] == ["pilots.txt", "bakery.txt"]
    assert all(r.attributes == {"side": "south"} for r in results)
    assert "Harbour pilots" in response.output_text and "lighthouse" not in response.output_text
