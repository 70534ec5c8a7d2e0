"""Files being processed when the server dies (SIGKILL) or stops (SIGTERM) are resumed by the next
server: nothing is lost, nothing is counted twice. Embeddings come from the fake backend, slowed down so
that processing is caught midway."""

from __future__ import annotations

import io
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from backends import fake_backend, stack_server
from openai.types.vector_stores import VectorStoreFile

from stack_core.testing import StackServer

TEXT = " ".join(f"Sentence {i} of the ship's log names harbour number {i}." for i in range(300))


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    with fake_backend(models="llm", embedding_models="embed") as url:
        yield url


def config(backend: str) -> dict[str, Any]:
    def entry(api: str, provider_type: str, **config: object) -> list[dict[str, Any]]:
        return [{"provider_id": api, "provider_type": provider_type, "config": config}]

    stores = {"chunk_size_tokens": 100, "chunk_overlap_tokens": 0, "insert_batch_size": 2}
    return {
        "version": 2,
        "providers": {
            "inference": entry("inference", "remote::vllm", url=f"{backend}/v1"),
            "vector_io": entry("vector_io", "inline::faiss"),
            "files": entry("files", "inline::localfs"),
            "vector_stores": entry(
                "vector_stores", "inline::vector-stores", processing_lease_seconds=1, **stores
            ),
        },
        "models": [
            {
                "model_id": "embed",
                "provider_id": "inference",
                "model_type": "embedding",
                "metadata": {"embedding_dimension": 384},
            }
        ],
    }


def slow_embeddings(backend: str, latency_ms: float) -> None:
    httpx.post(f"{backend}/__control", json={"latency_ms": latency_ms}).raise_for_status()


def chunk_ids(server: StackServer, store_id: str) -> list[str]:
    body = {"vector_db_id": store_id, "query": "harbour", "params": {"max_chunks": 1000}}
    reply = httpx.post(f"{server.url}/v1/vector-io/query", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    return [c["chunk_id"] for c in reply.json()["chunks"]]


def settled(client: openai.OpenAI, store_id: str, file_id: str, within: float = 30.0) -> VectorStoreFile:
    deadline = time.monotonic() + within
    while (
        done := client.vector_stores.files.retrieve(file_id, vector_store_id=store_id)
    ).status == "in_progress":
        assert time.monotonic() < deadline, f"still in progress after {within}s"
        time.sleep(0.1)
    return done


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
def test_interrupted_processing_is_resumed_by_the_next_server(
    backend: str, tmp_path: Path, stop: signal.Signals
) -> None:
    slow_embeddings(backend, 150)
    try:
        with stack_server(config(backend), tmp_path) as server:
            client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused")
            file_id = client.files.create(
                file=("log.txt", io.BytesIO(TEXT.encode())), purpose="assistants"
            ).id
            store = client.vector_stores.create(name="log", file_ids=[file_id])
            time.sleep(1.0)  # a few of its ~20 insert batches are in
            assert (
                client.vector_stores.files.retrieve(file_id, vector_store_id=store.id).status == "in_progress"
            )
            assert server.process is not None
            server.process.send_signal(stop)
            server.process.wait(15)
        slow_embeddings(backend, 0)
        with stack_server(config(backend), tmp_path) as server:
            client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused")
            done = settled(client, store.id, file_id)
            assert done.status == "completed" and done.last_error is None, done
            ids = chunk_ids(server, store.id)
            assert len(ids) == len(set(ids)) > 20
            hits = client.vector_stores.search(store.id, query="harbour number 7").data
            assert hits and hits[0].file_id == file_id
            assert client.vector_stores.retrieve(store.id).file_counts.completed == 1
    finally:
        slow_embeddings(backend, 0)
