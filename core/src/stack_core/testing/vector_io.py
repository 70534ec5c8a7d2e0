"""The vector_io conformance suite: insert, query (vector, keyword, hybrid), filters, idempotent ids,
delete, TTL, persistence across a restart, and the errors (wrong dimension 400, unknown DB 404).

The ``target`` needs ``embedding_model`` (a registered embedding model, used for the text tests)
and ``embedding_dimension``; ``extra["provider_id"]`` names the vector_io provider when several are
configured, and ``extra["restart"]`` is a callable that restarts the server on the same state (and
returns its base URL) for the persistence test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from .target import Target

__all__ = ["VectorIOConformance"]

DOCUMENTS = {
    "cats": "Cats are small domesticated felines that purr and chase mice.",
    "pasta": "To cook pasta, boil salted water and simmer the spaghetti for nine minutes.",
    "taxes": "Income tax returns must be filed with the revenue agency by the end of April.",
    "volcano": "A volcano erupts when molten magma rises through the crust to the surface.",
    "football": "The football match ended in a draw after extra time and penalties.",
}


def unit(dimension: int, index: int) -> list[float]:
    """A one-hot vector: distinct indices are orthogonal, so each query has one exact match."""
    vector = [0.0] * dimension
    vector[index % dimension] = 1.0
    return vector


class VectorIOConformance:
    """Subclass and provide a ``target`` fixture returning a ``Target``."""

    @pytest.fixture
    async def client(self, target: Target) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(base_url=target.url, headers=target.headers, timeout=120) as client:
            yield client

    @pytest.fixture
    async def vector_db(self, client: httpx.AsyncClient, target: Target) -> AsyncIterator[str]:
        db_id = f"conformance-{uuid.uuid4().hex[:12]}"
        response = await client.post("/v1/vector-dbs", json=self.register_body(target, db_id))
        assert response.status_code == 200, response.text
        yield db_id
        await client.delete(f"/v1/vector-dbs/{db_id}")

    @staticmethod
    def register_body(target: Target, db_id: str, **overrides: Any) -> dict[str, Any]:
        assert target.embedding_model, "this suite needs Target.embedding_model"
        body: dict[str, Any] = {
            "vector_db_id": db_id,
            "embedding_model": target.embedding_model,
            "embedding_dimension": target.embedding_dimension or 384,
        }
        if target.extra.get("provider_id"):
            body["provider_id"] = target.extra["provider_id"]
        return {**body, **overrides}

    @staticmethod
    def dim(target: Target) -> int:
        return target.embedding_dimension or 384

    @staticmethod
    async def insert(client: httpx.AsyncClient, db: str, chunks: list[dict[str, Any]], **extra: Any) -> None:
        response = await client.post(
            "/v1/vector-io/insert", json={"vector_db_id": db, "chunks": chunks, **extra}
        )
        assert response.status_code in (200, 204), response.text

    @staticmethod
    async def query(client: httpx.AsyncClient, db: str, **body: Any) -> dict[str, Any]:
        response = await client.post("/v1/vector-io/query", json={"vector_db_id": db, **body})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def seed(self, client: httpx.AsyncClient, target: Target, db: str) -> None:
        """Five chunks with one-hot embeddings and metadata topic (a/b) and n (0-4)."""
        chunks = [
            {
                "content": text,
                "chunk_id": name,
                "metadata": {"document_id": name, "topic": "ab"[i % 2], "n": i},
                "embedding": unit(self.dim(target), i),
            }
            for i, (name, text) in enumerate(DOCUMENTS.items())
        ]
        await self.insert(client, db, chunks)

    # -- insert and query ----------------------------------------------------------------------

    async def test_query_by_vector_ranks_the_exact_match_first(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        await self.seed(client, target, vector_db)
        result = await self.query(
            client,
            vector_db,
            query="ignored",
            query_embedding=unit(self.dim(target), 2),
            params={"max_chunks": 3},
        )
        assert len(result["chunks"]) == 3 == len(result["scores"])
        first = result["chunks"][0]
        assert first["content"] == DOCUMENTS["taxes"] and first["chunk_id"] == "taxes"
        assert first["metadata"] == {"document_id": "taxes", "topic": "a", "n": 2}
        assert result["scores"][0] == pytest.approx(1.0, abs=1e-3)
        assert result["scores"] == sorted(result["scores"], reverse=True)

    async def test_text_query_is_embedded_with_the_db_model(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        chunks = [{"content": text, "metadata": {"document_id": name}} for name, text in DOCUMENTS.items()]
        await self.insert(client, vector_db, chunks)
        questions = {
            "How long should spaghetti boil?": "pasta",
            "When is the deadline for filing my income taxes?": "taxes",
            "What makes lava come out of a mountain?": "volcano",
        }
        for question, expected in questions.items():
            result = await self.query(client, vector_db, query=question, params={"max_chunks": 2})
            assert result["chunks"][0]["metadata"]["document_id"] == expected, question

    async def test_metadata_filters(self, client: httpx.AsyncClient, target: Target, vector_db: str) -> None:
        await self.seed(client, target, vector_db)
        probe = unit(self.dim(target), 0)

        async def ids(filters: Any) -> set[str]:
            params = {"max_chunks": 10, "filters": filters}
            result = await self.query(client, vector_db, query="x", query_embedding=probe, params=params)
            return {c["chunk_id"] for c in result["chunks"]}

        assert await ids({"topic": "b"}) == {"pasta", "volcano"}
        assert await ids({"type": "gte", "key": "n", "value": 3}) == {"volcano", "football"}
        assert await ids({"type": "in", "key": "n", "value": [0, 4]}) == {"cats", "football"}
        either = {
            "type": "or",
            "filters": [{"type": "eq", "key": "n", "value": 1}, {"type": "lt", "key": "n", "value": 1}],
        }
        assert await ids(either) == {"cats", "pasta"}
        both = {
            "type": "and",
            "filters": [{"type": "eq", "key": "topic", "value": "a"}, {"type": "ne", "key": "n", "value": 0}],
        }
        assert await ids(both) == {"taxes", "football"}

    async def test_score_threshold(self, client: httpx.AsyncClient, target: Target, vector_db: str) -> None:
        await self.seed(client, target, vector_db)
        params = {"max_chunks": 5, "score_threshold": 0.5}
        result = await self.query(
            client, vector_db, query="x", query_embedding=unit(self.dim(target), 1), params=params
        )
        assert [c["chunk_id"] for c in result["chunks"]] == ["pasta"]

    async def test_keyword_mode(self, client: httpx.AsyncClient, target: Target, vector_db: str) -> None:
        await self.seed(client, target, vector_db)
        result = await self.query(client, vector_db, query="boil the spaghetti", params={"mode": "keyword"})
        assert result["chunks"][0]["chunk_id"] == "pasta"
        assert all(s > 0 for s in result["scores"])
        filtered = await self.query(
            client, vector_db, query="spaghetti magma", params={"mode": "keyword", "filters": {"topic": "b"}}
        )
        assert {c["chunk_id"] for c in filtered["chunks"]} <= {"pasta", "volcano"}

    async def test_hybrid_mode_fuses_both_rankings(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        await self.seed(client, target, vector_db)
        body = {"query": "magma crust", "query_embedding": unit(self.dim(target), 3)}
        for ranker in ({"type": "rrf"}, {"type": "weighted", "alpha": 0.5}):
            result = await self.query(client, vector_db, **body, params={"mode": "hybrid", "ranker": ranker})
            assert result["chunks"][0]["chunk_id"] == "volcano"
            assert result["scores"] == sorted(result["scores"], reverse=True)

    async def test_the_current_client_line_names_vector_store_id_and_embedding_models(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        """llama-stack-client 0.7 names the DB ``vector_store_id`` and sends chunks with their
        embedding model and dimension; results carry both (the DB's when a chunk named none)."""
        dim = self.dim(target)
        cats = {
            "content": DOCUMENTS["cats"],
            "chunk_id": "cats",
            "chunk_metadata": {"document_id": "cats"},
            "embedding": unit(dim, 0),
            "embedding_model": "my-embedder",
            "embedding_dimension": dim,
        }
        pasta = {"content": DOCUMENTS["pasta"], "chunk_id": "pasta", "embedding": unit(dim, 1)}
        inserted = await client.post(
            "/v1/vector-io/insert", json={"vector_store_id": vector_db, "chunks": [cats, pasta]}
        )
        assert inserted.status_code in (200, 204), inserted.text
        body = {"vector_store_id": vector_db, "query": "x", "query_embedding": unit(dim, 0)}
        result = await client.post("/v1/vector-io/query", json={**body, "params": {"max_chunks": 2}})
        first, second = result.json()["chunks"]
        assert (first["chunk_id"], first["embedding_model"], first["embedding_dimension"]) == (
            "cats",
            "my-embedder",
            dim,
        )
        assert (second["chunk_id"], second["embedding_model"]) == ("pasta", target.embedding_model)
        wrong = {"vector_store_id": vector_db, "chunks": [{**cats, "embedding_dimension": dim + 1}]}
        refused = await client.post("/v1/vector-io/insert", json=wrong)
        assert (
            refused.status_code == 400 and refused.json()["error"]["param"] == "chunks.0.embedding_dimension"
        )

    # -- ids, delete, ttl ----------------------------------------------------------------------

    async def test_same_chunk_id_replaces(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        vector = unit(self.dim(target), 7)
        for content in ("old text", "new text"):
            chunk: dict[str, Any] = {
                "content": content,
                "chunk_id": "same",
                "metadata": {},
                "embedding": vector,
            }
            await self.insert(client, vector_db, [chunk])
        result = await self.query(
            client, vector_db, query="x", query_embedding=vector, params={"max_chunks": 5}
        )
        assert [c["content"] for c in result["chunks"]] == ["new text"]

    async def test_derived_ids_are_idempotent(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        chunk = {
            "content": "same text",
            "metadata": {"document_id": "d1"},
            "embedding": unit(self.dim(target), 5),
        }
        await self.insert(client, vector_db, [chunk])
        await self.insert(client, vector_db, [chunk])
        result = await self.query(
            client, vector_db, query="x", query_embedding=chunk["embedding"], params={"max_chunks": 5}
        )
        assert len(result["chunks"]) == 1 and result["chunks"][0]["chunk_id"]

    async def test_delete_chunks(self, client: httpx.AsyncClient, target: Target, vector_db: str) -> None:
        await self.seed(client, target, vector_db)
        response = await client.post(
            "/v1/vector-io/delete", json={"vector_db_id": vector_db, "chunk_ids": ["cats", "unknown"]}
        )
        assert response.status_code in (200, 204), response.text
        result = await self.query(
            client, vector_db, query="x", query_embedding=unit(self.dim(target), 0), params={"max_chunks": 10}
        )
        assert {c["chunk_id"] for c in result["chunks"]} == set(DOCUMENTS) - {"cats"}

    async def test_expired_chunks_are_not_returned(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        vector = unit(self.dim(target), 9)
        await self.insert(
            client,
            vector_db,
            [{"content": "brief", "chunk_id": "t", "metadata": {}, "embedding": vector}],
            ttl_seconds=1,
        )
        await self.insert(
            client, vector_db, [{"content": "kept", "chunk_id": "k", "metadata": {}, "embedding": vector}]
        )
        await asyncio.sleep(1.2)
        result = await self.query(
            client, vector_db, query="x", query_embedding=vector, params={"max_chunks": 5}
        )
        assert [c["chunk_id"] for c in result["chunks"]] == ["k"]

    async def test_unregister_deletes_the_chunks(self, client: httpx.AsyncClient, target: Target) -> None:
        db = f"conformance-{uuid.uuid4().hex[:12]}"
        body = self.register_body(target, db)
        assert (await client.post("/v1/vector-dbs", json=body)).status_code == 200
        await self.seed(client, target, db)
        assert (await client.delete(f"/v1/vector-dbs/{db}")).status_code in (200, 204)
        assert (await client.post("/v1/vector-dbs", json=body)).status_code == 200
        try:
            result = await self.query(client, db, query="x", query_embedding=unit(self.dim(target), 0))
            assert result["chunks"] == []
        finally:
            await client.delete(f"/v1/vector-dbs/{db}")

    # -- errors --------------------------------------------------------------------------------

    async def test_wrong_dimension_is_400_and_nothing_is_written(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        good = {"content": "good", "chunk_id": "good", "metadata": {}, "embedding": unit(self.dim(target), 0)}
        bad = {"content": "bad", "chunk_id": "bad", "metadata": {}, "embedding": [1.0, 0.0]}
        response = await client.post(
            "/v1/vector-io/insert", json={"vector_db_id": vector_db, "chunks": [good, bad]}
        )
        assert response.status_code == 400
        assert "2 dimensions" in response.json()["error"]["message"]
        result = await self.query(client, vector_db, query="x", query_embedding=good["embedding"])
        assert result["chunks"] == []
        wrong_query = await client.post(
            "/v1/vector-io/query", json={"vector_db_id": vector_db, "query": "x", "query_embedding": [0.5]}
        )
        assert wrong_query.status_code == 400

    async def test_unknown_vector_db_is_404(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        for path, body in (
            ("/v1/vector-io/insert", {"chunks": [{"content": "x", "metadata": {}}]}),
            ("/v1/vector-io/query", {"query": "x"}),
        ):
            response = await client.post(path, json={"vector_db_id": "no-such-db", **body})
            assert response.status_code == 404
            message = response.json()["error"]["message"]
            assert "no-such-db" in message and vector_db in message and "POST /v1/vector-dbs" in message

    async def test_registration_checks_the_embedding_model(
        self, client: httpx.AsyncClient, target: Target
    ) -> None:
        db = f"conformance-{uuid.uuid4().hex[:12]}"
        unknown = await client.post(
            "/v1/vector-dbs", json=self.register_body(target, db, embedding_model="nope")
        )
        assert unknown.status_code == 400 and "nope" in unknown.text
        wrong = await client.post(
            "/v1/vector-dbs", json=self.register_body(target, db, embedding_dimension=7)
        )
        assert wrong.status_code == 400 and "embedding_dimension" in wrong.text
        assert (await client.get(f"/v1/vector-dbs/{db}")).status_code == 404

    async def test_bad_params_are_400(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        for params in (
            {"mode": "fuzzy"},
            {"max_chunks": 0},
            {"filters": {"type": "in", "key": "n", "value": 3}},
        ):
            response = await client.post(
                "/v1/vector-io/query", json={"vector_db_id": vector_db, "query": "x", "params": params}
            )
            assert response.status_code == 400, params

    # -- persistence ---------------------------------------------------------------------------

    async def test_chunks_survive_a_restart(
        self, client: httpx.AsyncClient, target: Target, vector_db: str
    ) -> None:
        restart: Callable[[], str] | None = target.extra.get("restart")
        if restart is None:
            pytest.skip("the target offers no restart (Target.extra['restart'])")
        await self.seed(client, target, vector_db)
        url = await asyncio.to_thread(restart)
        async with httpx.AsyncClient(base_url=url, headers=target.headers, timeout=120) as fresh:
            listed = (await fresh.get("/v1/vector-dbs")).json()["data"]
            assert vector_db in {d["identifier"] for d in listed}
            result = await self.query(
                fresh,
                vector_db,
                query="x",
                query_embedding=unit(self.dim(target), 4),
                params={"max_chunks": 5},
            )
        assert result["chunks"][0]["chunk_id"] == "football" and len(result["chunks"]) == 5
