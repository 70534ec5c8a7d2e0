"""``VectorIOClient``: insert, query and delete chunks through the VectorIO API, in-process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..apis.vector_io import (
    Chunk,
    DeleteChunksRequest,
    InsertChunksRequest,
    QueryChunksRequest,
    QueryChunksResponse,
)
from ..calls import ApiHandle
from .decode import build_request, decode_model

__all__ = ["VectorIOClient"]


class VectorIOClient:
    """Chunks in vector DBs over ``api``, the object serving the VectorIO API (usually the router,
    ``context.deps["vector_io"]``), with the current user's access rules."""

    def __init__(self, api: ApiHandle) -> None:
        self._insert = api.handler("insert_chunks")
        self._query = api.handler("query_chunks")
        self._delete = api.handler("delete_chunks")

    async def insert(
        self,
        vector_db_id: str,
        chunks: Sequence[Chunk | Mapping[str, Any]],
        *,
        ttl_seconds: int | None = None,
    ) -> None:
        """Insert chunks (embedded through the Inference API when they carry no embedding); a chunk
        with the id of a stored one replaces it."""
        items = [c if isinstance(c, Chunk) else dict(c) for c in chunks]
        fields = {"vector_db_id": vector_db_id, "chunks": items, "ttl_seconds": ttl_seconds}
        await self._insert(build_request(InsertChunksRequest, fields))

    async def query(
        self,
        vector_db_id: str,
        query: str | None = None,
        *,
        max_chunks: int = 3,
        mode: Literal["vector", "keyword", "hybrid"] = "vector",
        score_threshold: float | None = None,
        filters: Mapping[str, Any] | None = None,
        ranker: Mapping[str, Any] | None = None,
        include_embeddings: bool = False,
        query_embedding: Sequence[float] | None = None,
    ) -> QueryChunksResponse:
        """The best chunks for ``query`` (or ``query_embedding``), best first, with their scores;
        ``filters`` take the OpenAI vector-store shape or ``{key: value}``."""
        params = {
            "max_chunks": max_chunks,
            "mode": mode,
            "score_threshold": score_threshold,
            "filters": dict(filters) if filters is not None else None,
            "ranker": dict(ranker) if ranker is not None else None,
            "include_embeddings": include_embeddings,
        }
        fields = {
            "vector_db_id": vector_db_id,
            "query": query,
            "params": {k: v for k, v in params.items() if v is not None},
            "query_embedding": list(query_embedding) if query_embedding is not None else None,
        }
        reply = await self._query(build_request(QueryChunksRequest, fields))
        return decode_model(reply, QueryChunksResponse)

    async def delete(self, vector_db_id: str, chunk_ids: Sequence[str]) -> None:
        """Delete chunks by id (unknown ids are ignored)."""
        fields = {"vector_db_id": vector_db_id, "chunk_ids": list(chunk_ids)}
        await self._delete(build_request(DeleteChunksRequest, fields))
