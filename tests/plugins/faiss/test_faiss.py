"""inline::faiss (faiss HNSW + SQLite) served by `stack run` with real MiniLM embeddings, and its
collection's crash recovery, masking of replaced chunks and exact filtered search."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml
from backends import stack_server
from stack_provider_faiss.collection import Collection
from stack_provider_faiss.config import FaissConfig
from vector_backends import EMBEDDING_MODEL, restartable_target, vector_config

from stack_core import IndexedChunk, QueryParams
from stack_core.testing import StackServer, Target, VectorIOConformance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with stack_server(vector_config("inline::faiss", {}), tmp_path_factory.mktemp("home")) as server:
        yield server


@pytest.mark.integration
class TestFaiss(VectorIOConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return restartable_target(server)


def chunks(vectors: np.ndarray, prefix: str = "c") -> list[IndexedChunk]:
    return [
        IndexedChunk(
            f"{prefix}{i}", v.tolist(), f"text {i}", {"n": i}, {"content": f"text {i}", "metadata": {"n": i}}
        )
        for i, v in enumerate(vectors)
    ]


def test_collection_rebuilds_its_graph_after_a_crash(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    collection = Collection(tmp_path, 8, FaissConfig())
    collection.upsert(chunks(vectors))
    collection.db.close()  # no save(): like a crash
    reopened = Collection(tmp_path, 8, FaissConfig())
    assert reopened.index.ntotal == 50
    assert reopened.query_vector(vectors[7].tolist(), 1, None, False)[0].id == "c7"
    reopened.close()
    assert (tmp_path / "index.faiss").exists()
    loaded = Collection(tmp_path, 8, FaissConfig())
    assert loaded.index.ntotal == 50 and loaded.query_vector(vectors[3].tolist(), 1, None, True)[0].embedding
    with pytest.raises(ValueError, match="8-dimensional"):
        Collection(tmp_path, 16, FaissConfig())


def test_replaced_chunks_are_masked_then_compacted(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    collection = Collection(tmp_path, 8, FaissConfig())
    first = rng.standard_normal((40, 8)).astype(np.float32)
    collection.upsert(chunks(first))
    collection.upsert(chunks(first[:10] * -1))
    hits = collection.query_vector(first[2].tolist(), 40, None, False)
    assert len(hits) == 40 == len({h.id for h in hits}) and collection.dead
    collection.delete([f"c{i}" for i in range(40)])
    assert collection.query_vector(first[2].tolist(), 5, None, False) == []
    collection.upsert(chunks(rng.standard_normal((1200, 8)).astype(np.float32), "d"))
    collection.delete([f"d{i}" for i in range(1100)])
    assert collection.index.ntotal == 100 and not collection.dead
    collection.close()


def test_filtered_queries_exact_and_through_the_graph(tmp_path: Path) -> None:
    vectors = np.random.default_rng(2).standard_normal((300, 8)).astype(np.float32)
    where = QueryParams.model_validate({"filters": {"type": "lt", "key": "n", "value": 100}}).filters
    for exact_below in (0, 4096):
        collection = Collection(tmp_path / str(exact_below), 8, FaissConfig(exact_below=exact_below))
        collection.upsert(chunks(vectors))
        hits = collection.query_vector(vectors[250].tolist(), 10, where, False)
        assert len(hits) == 10 and all(h.document["metadata"]["n"] < 100 for h in hits)
        expected = np.argsort(
            -(vectors[:100] / np.linalg.norm(vectors[:100], axis=1, keepdims=True)) @ vectors[250]
        )[0]
        assert hits[0].id == f"c{expected}"
        collection.close()


@pytest.mark.integration
def test_data_survives_sigkill(tmp_path: Path) -> None:
    with stack_server(vector_config("inline::faiss", {}), tmp_path / "home") as server:
        body = {"vector_db_id": "k", "embedding_model": EMBEDDING_MODEL, "embedding_dimension": 384}
        assert httpx.post(f"{server.url}/v1/vector-dbs", json=body).status_code == 200
        chunk = {"content": "x", "chunk_id": "x", "metadata": {}, "embedding": [1.0] + [0.0] * 383}
        insert = {"vector_db_id": "k", "chunks": [chunk]}
        assert httpx.post(f"{server.url}/v1/vector-io/insert", json=insert).status_code == 204
        assert server.process is not None
        server.process.kill()
        server.process.wait()
        server.start()
        query = {"vector_db_id": "k", "query": "x", "query_embedding": chunk["embedding"]}
        reply = httpx.post(f"{server.url}/v1/vector-io/query", json=query, timeout=30).json()
        assert [c["chunk_id"] for c in reply["chunks"]] == ["x"]


def test_several_workers_are_refused_at_start_naming_the_provider(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(vector_config("inline::faiss", {})))
    command = [sys.executable, "-m", "stack_core.cli", "run", str(config), "--workers", "2"]
    env = {**os.environ, "STACK_HOME": str(tmp_path)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "providers.vector_io[0] (provider_id 'vectors', inline::faiss)" in done.stderr
    assert "cannot be served by 2 workers" in done.stderr
