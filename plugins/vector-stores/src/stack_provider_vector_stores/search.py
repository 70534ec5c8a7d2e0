"""Search: each query through vector_io's ``query_chunks`` (embedded there), results merged by chunk."""

from __future__ import annotations

from typing import Any

from stack_core import (
    Chunk,
    SearchVectorStoreRequest,
    UnsupportedError,
    VectorIOClient,
    VectorStoreSearchResponse,
)
from stack_core.apis.vector_stores import VectorStoreSearchResult

from .ingest import RESERVED
from .records import Body


async def search(
    vector_io: VectorIOClient, store: Body, request: SearchVectorStoreRequest
) -> VectorStoreSearchResponse:
    """The best chunks of ``store`` for the request's queries, best first."""
    if request.rewrite_query:
        raise UnsupportedError(
            "rewrite_query is not supported: Stack searches with the query as given.", param="rewrite_query"
        )
    queries = [request.query] if isinstance(request.query, str) else request.query
    threshold = request.ranking_options.score_threshold if request.ranking_options else None
    best: dict[str, tuple[float, Chunk]] = {}
    for query in queries:
        reply = await vector_io.query(
            store["vector_db_id"],
            query,
            max_chunks=request.max_num_results,
            mode=request.search_mode,
            score_threshold=threshold,
            filters=request.filters.model_dump() if request.filters is not None else None,
        )
        for chunk, score in zip(reply.chunks, reply.scores, strict=True):
            key = chunk.chunk_id or str(chunk.content)
            if key not in best or best[key][0] < score:
                best[key] = (score, chunk)
    ranked = sorted(best.values(), key=lambda pair: pair[0], reverse=True)[: request.max_num_results]
    return VectorStoreSearchResponse(
        search_query=" ".join(queries), data=[_result(score, chunk) for score, chunk in ranked]
    )


def _result(score: float, chunk: Chunk) -> VectorStoreSearchResult:
    metadata: dict[str, Any] = chunk.metadata
    return VectorStoreSearchResult.model_validate(
        {
            "file_id": str(metadata.get("file_id", "")),
            "filename": str(metadata.get("filename", "")),
            "score": score,
            "attributes": {k: v for k, v in metadata.items() if k not in RESERVED},
            "content": [{"type": "text", "text": _text(chunk.content)}],
        }
    )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    return "\n".join(_text(item) for item in content)
