"""``VectorIOAdapter``: a ``VectorIndex`` made into a vector_io provider, the one place where
embeddings are computed (through the Inference API), inputs validated, modes fused and TTLs kept.

A vector provider's factory is little more than::

    async def create_provider(config, context):
        return VectorIOAdapter(await MyIndex.open(config, context.state_dir), context)

and declares ``optional_deps=("inference",)``: without an inference API, chunks and queries must
carry their embeddings.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import orjson

from ..apis.vector_io import (
    Chunk,
    DeleteChunksRequest,
    InsertChunksRequest,
    QueryChunksRequest,
    QueryChunksResponse,
)
from ..errors import BadRequestError, NotFoundError, ProviderError, ProviderReplyError, StackError
from ..hookspecs import ProviderContext
from ..payloads import content_text
from ..resources import Model, VectorDB
from .vector_index import IndexedChunk, VectorHit, VectorIndex, fuse_rrf, fuse_weighted, keyword_terms

__all__ = ["VectorIOAdapter", "derive_chunk_id"]

T = TypeVar("T")
_IDS = uuid.UUID("6b1d2c4e-93a8-4b8e-9a4f-2f5c7d0e1a33")


def derive_chunk_id(chunk: Chunk, text: str) -> str:
    """The chunk's id: its own, else a UUID derived from ``metadata.document_id`` and the text (or
    from the whole content and metadata), so re-inserting the same chunk replaces it."""
    if chunk.chunk_id:
        return chunk.chunk_id
    document = chunk.metadata.get("document_id")
    if document is not None:
        basis = f"{document}:{text}".encode()
    else:
        basis = orjson.dumps({"c": chunk.content, "m": chunk.metadata}, option=orjson.OPT_SORT_KEYS)
    return str(uuid.uuid5(_IDS, hashlib.sha256(basis).hexdigest()))


class VectorIOAdapter:
    """Implements ``VectorIOProvider`` over a ``VectorIndex``."""

    def __init__(self, index: VectorIndex, context: ProviderContext) -> None:
        self.index, self.context = index, context
        self.inference = context.inference if "inference" in context.deps else None
        self._opened: dict[str, int] = {}

    # -- the vector DB registry ----------------------------------------------------------------

    async def register_vector_db(self, vector_db: VectorDB) -> VectorDB:
        self._check_embedding_model(vector_db)
        await self._call(self.index.create(vector_db))
        self._opened[vector_db.provider_key] = vector_db.embedding_dimension
        return vector_db

    async def unregister_vector_db(self, vector_db: VectorDB) -> None:
        await self._call(self.index.drop(vector_db))
        self._opened.pop(vector_db.provider_key, None)

    def _check_embedding_model(self, db: VectorDB) -> None:
        model = self.context.resources.get("model", db.embedding_model)
        if not isinstance(model, Model) or model.model_type != "embedding":
            known = [
                m.identifier
                for m in self.context.resources.list("model")
                if isinstance(m, Model) and m.model_type == "embedding"
            ]
            what = "is not an embedding model" if model is not None else "is not registered"
            raise BadRequestError(
                f"Embedding model '{db.embedding_model}' {what}. Registered embedding models: "
                f"{', '.join(sorted(known)) or 'none'}. Register one with POST /v1/models "
                "(model_type: embedding).",
                param="embedding_model",
            )
        declared = model.metadata.get("embedding_dimension")
        if declared is not None and int(declared) != db.embedding_dimension:
            raise BadRequestError(
                f"Embedding model '{db.embedding_model}' produces {declared}-dimensional embeddings, but "
                f"embedding_dimension is {db.embedding_dimension} (384 when omitted). Pass "
                f"embedding_dimension: {declared}.",
                param="embedding_dimension",
            )

    async def _open(self, key: str) -> VectorDB:
        """The vector DB the router resolved (by provider key), its collection opened once."""
        db = self._resource(key)
        if db is None:
            raise NotFoundError(
                f"Vector DB '{key}' is not registered with provider '{self.context.provider_id}'.",
                param="vector_db_id",
                code="vector_db_not_found",
            )
        if self._opened.get(key) != db.embedding_dimension:
            await self._call(self.index.create(db))
            self._opened[key] = db.embedding_dimension
        return db

    def _resource(self, key: str) -> VectorDB | None:
        pid, resources = self.context.provider_id, self.context.resources
        direct = resources.get("vector_db", key)
        for found in (direct, *([] if direct is not None else resources.list("vector_db"))):
            if isinstance(found, VectorDB) and found.provider_id == pid and found.provider_key == key:
                return found
        return None

    # -- the API -------------------------------------------------------------------------------

    async def insert_chunks(self, request: InsertChunksRequest) -> None:
        db = await self._open(request.vector_db_id)
        texts = [content_text(c.content) for c in request.chunks]
        missing = []
        for i, chunk in enumerate(request.chunks):
            if chunk.embedding_dimension not in (None, db.embedding_dimension):
                raise BadRequestError(
                    f"chunks[{i}].embedding_dimension is {chunk.embedding_dimension}, but vector DB "
                    f"'{db.identifier}' holds {db.embedding_dimension}-dimensional embeddings.",
                    param=f"chunks.{i}.embedding_dimension",
                )
            if chunk.embedding is not None:
                self._check_dimension(db, chunk.embedding, f"chunks.{i}.embedding", f"chunks[{i}].embedding")
            elif not texts[i].strip():
                raise BadRequestError(
                    f"chunks[{i}] has no text to embed and no embedding.", param=f"chunks.{i}.content"
                )
            else:
                missing.append(i)
        computed = iter(await self.embed(db, [texts[i] for i in missing]) if missing else [])
        expires = time.time() + request.ttl_seconds if request.ttl_seconds else None
        indexed: dict[str, IndexedChunk] = {}
        for i, (chunk, text) in enumerate(zip(request.chunks, texts, strict=True)):
            embedding = chunk.embedding if chunk.embedding is not None else next(computed)
            self._check_dimension(db, embedding, f"chunks.{i}.embedding", f"chunks[{i}].embedding")
            chunk_id = derive_chunk_id(chunk, text)
            document: dict[str, Any] = {"content": chunk.content, "metadata": chunk.metadata}
            if chunk.chunk_metadata is not None:
                document["chunk_metadata"] = chunk.chunk_metadata
            if chunk.embedding is not None and chunk.embedding_model:
                document["embedding_model"] = chunk.embedding_model
            if expires is not None:
                document["expires_at"] = expires
            indexed[chunk_id] = IndexedChunk(chunk_id, embedding, text, chunk.metadata, document)
        await self._call(self.index.upsert(db, list(indexed.values())))

    async def query_chunks(self, request: QueryChunksRequest) -> QueryChunksResponse:
        db = await self._open(request.vector_db_id)
        params = request.params
        text = content_text(request.query) if request.query is not None else ""
        if params.mode != "vector" and not keyword_terms(text):
            raise BadRequestError(f"{params.mode} mode needs a query with words in it.", param="query")
        vector: list[float] | None = None
        if params.mode != "keyword":
            if request.query_embedding is not None:
                vector = request.query_embedding
            elif not text.strip():
                raise BadRequestError("query has no text to embed.", param="query")
            else:
                vector = (await self.embed(db, [text]))[0]
            self._check_dimension(db, vector, "query_embedding", "the query embedding")
        hits = await self._search(db, text, vector, request)
        expired = [h.id for h in hits if h.document.get("expires_at", float("inf")) <= time.time()]
        if expired:
            await self._call(self.index.delete(db, expired))
            hits = await self._search(db, text, vector, request)
        if params.score_threshold is not None:
            hits = [h for h in hits if h.score >= params.score_threshold]
        return QueryChunksResponse(chunks=[_chunk(h, db) for h in hits], scores=[h.score for h in hits])

    async def _search(
        self, db: VectorDB, text: str, vector: list[float] | None, request: QueryChunksRequest
    ) -> list[VectorHit]:
        params = request.params
        k, where, embeddings = params.max_chunks, params.filters, params.include_embeddings
        if params.mode == "vector":
            assert vector is not None
            return await self._call(self.index.query_vector(db, vector, k, where, embeddings))
        if params.mode == "keyword":
            return await self._call(self.index.query_keyword(db, text, k, where, embeddings))
        assert vector is not None
        wide = max(2 * k, 20)
        by_vector = await self._call(self.index.query_vector(db, vector, wide, where, embeddings))
        by_keyword = await self._call(self.index.query_keyword(db, text, wide, where, embeddings))
        ranker = params.ranker
        if ranker.type == "weighted":
            return fuse_weighted(by_vector, by_keyword, ranker.alpha)[:k]
        return fuse_rrf([by_vector, by_keyword], ranker.impact_factor)[:k]

    async def delete_chunks(self, request: DeleteChunksRequest) -> None:
        db = await self._open(request.vector_db_id)
        await self._call(self.index.delete(db, request.chunk_ids))

    # -- embeddings ----------------------------------------------------------------------------

    async def embed(self, db: VectorDB, texts: Sequence[str]) -> list[list[float]]:
        """Embeddings of ``texts`` with the DB's embedding model, through the Inference API."""
        if self.inference is None:
            raise BadRequestError(
                f"Provider '{self.context.provider_id}' has no Inference API to compute embeddings with; "
                "configure an inference provider or send embeddings (chunks[].embedding, query_embedding).",
            )
        try:
            return await self.inference.embed(db.embedding_model, texts)
        except ProviderReplyError as exc:
            raise ProviderError("The embedding model returned an unexpected reply.") from exc

    @staticmethod
    def _check_dimension(db: VectorDB, vector: Sequence[float], param: str, what: str) -> None:
        if len(vector) != db.embedding_dimension:
            raise BadRequestError(
                f"{what} has {len(vector)} dimensions, but vector DB '{db.identifier}' holds "
                f"{db.embedding_dimension}-dimensional embeddings ({db.embedding_model}).",
                param=param,
                code="dimension_mismatch",
            )

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except StackError:
            raise
        except Exception as exc:
            pid = self.context.provider_id
            raise ProviderError(
                f"Vector backend of provider '{pid}' failed: {type(exc).__name__}: {exc}", provider_id=pid
            ) from exc

    async def health(self) -> dict[str, str]:
        check = getattr(self.index, "health", None)
        result = await check() if check is not None else None
        return result if isinstance(result, dict) else {"status": "OK"}

    async def shutdown(self) -> None:
        await self.index.close()


def _chunk(hit: VectorHit, db: VectorDB) -> Chunk:
    """A result; its embedding is by the model the chunk named, or else the DB's."""
    doc = hit.document
    return Chunk.model_construct(
        content=doc["content"],
        metadata=doc.get("metadata") or {},
        embedding=hit.embedding,
        chunk_id=hit.id,
        chunk_metadata=doc.get("chunk_metadata"),
        embedding_model=doc.get("embedding_model") or db.embedding_model,
        embedding_dimension=db.embedding_dimension,
    )
