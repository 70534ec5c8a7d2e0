"""Vector DBs as Qdrant collections (cosine), through ``AsyncQdrantClient`` in local mode or against
a server. Point ids are UUIDv5 of the chunk ids; payload: ``chunk_id``, lower-cased ``text``,
``metadata`` (filtered on as ``metadata.<key>``) and the chunk's ``document``."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qdrant_client import AsyncQdrantClient, models

from stack_core import (
    ComparisonFilter,
    ConfigError,
    ConflictError,
    IndexedChunk,
    MetadataFilter,
    ProviderContext,
    VectorDB,
    VectorHit,
    VectorIOAdapter,
    bm25_rank,
    keyword_terms,
)

from .config import QdrantConfig

_IDS = uuid.UUID("0d3f6a52-5f7e-4c1e-8f0a-6a1f4c9b2e77")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
BATCH = 256


def collection_name(key: str) -> str:
    return key if _NAME.match(key) else "stack-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def point_id(chunk_id: str) -> str:
    return str(uuid.uuid5(_IDS, chunk_id))


def qdrant_filter(where: MetadataFilter) -> models.Filter:
    """The API's metadata filter as a Qdrant filter on ``metadata.<key>``."""
    if not isinstance(where, ComparisonFilter):
        parts: list[models.Condition] = [qdrant_filter(f) for f in where.filters]
        return models.Filter(must=parts) if where.type == "and" else models.Filter(should=parts)
    key, value = f"metadata.{where.key}", where.value
    if where.type in ("in", "nin"):
        assert isinstance(value, list)
        match = models.FieldCondition(key=key, match=models.MatchAny(any=value))
        return models.Filter(must=[match]) if where.type == "in" else models.Filter(must_not=[match])
    if where.type in ("gt", "gte", "lt", "lte"):
        assert isinstance(value, int | float) and not isinstance(value, bool)
        return models.Filter(must=[models.FieldCondition(key=key, range=models.Range(**{where.type: value}))])
    if isinstance(value, float) and not value.is_integer():
        equal = models.FieldCondition(key=key, range=models.Range(gte=value, lte=value))
    else:
        scalar = int(value) if isinstance(value, float) else value
        equal = models.FieldCondition(key=key, match=models.MatchValue(value=scalar))
    return models.Filter(must=[equal]) if where.type == "eq" else models.Filter(must_not=[equal])


def _hit(point: Any, score: float) -> VectorHit:
    payload = point.payload or {}
    vector = point.vector if isinstance(point.vector, list) else None
    return VectorHit(
        payload["chunk_id"], score, payload["document"], [float(x) for x in vector] if vector else None
    )


class QdrantIndex:
    """A ``VectorIndex`` on ``AsyncQdrantClient`` (local mode or server)."""

    def __init__(self, client: AsyncQdrantClient, config: QdrantConfig, *, remote: bool) -> None:
        self.client, self.config, self.remote = client, config, remote

    async def create(self, db: VectorDB) -> None:
        name = collection_name(db.provider_key)
        if await self.client.collection_exists(name):
            info = await self.client.get_collection(name)
            vectors = info.config.params.vectors
            size = vectors.size if isinstance(vectors, models.VectorParams) else None
            if size is not None and size != db.embedding_dimension:
                raise ConflictError(
                    f"Qdrant collection '{name}' already holds {size}-dimensional vectors; vector DB "
                    f"'{db.identifier}' wants {db.embedding_dimension}.",
                    param="embedding_dimension",
                )
            return
        await self.client.create_collection(
            name,
            vectors_config=models.VectorParams(size=db.embedding_dimension, distance=models.Distance.COSINE),
        )
        if self.remote:
            text_index = models.TextIndexParams(
                type=models.TextIndexType.TEXT, tokenizer=models.TokenizerType.WORD, lowercase=True
            )
            await self.client.create_payload_index(name, "text", field_schema=text_index)

    async def drop(self, db: VectorDB) -> None:
        name = collection_name(db.provider_key)
        if await self.client.collection_exists(name):
            await self.client.delete_collection(name)

    async def upsert(self, db: VectorDB, chunks: Sequence[IndexedChunk]) -> None:
        name = collection_name(db.provider_key)
        for start in range(0, len(chunks), BATCH):
            points = [
                models.PointStruct(
                    id=point_id(c.id),
                    vector=c.embedding,
                    payload={
                        "chunk_id": c.id,
                        "text": c.text.lower(),
                        "metadata": c.metadata,
                        "document": c.document,
                    },
                )
                for c in chunks[start : start + BATCH]
            ]
            await self.client.upsert(name, points=points, wait=True)

    async def delete(self, db: VectorDB, ids: Sequence[str]) -> None:
        selector = models.PointIdsList(points=[point_id(i) for i in ids])
        await self.client.delete(collection_name(db.provider_key), points_selector=selector, wait=True)

    async def query_vector(
        self,
        db: VectorDB,
        embedding: list[float],
        k: int,
        where: MetadataFilter | None,
        with_embeddings: bool,
    ) -> list[VectorHit]:
        result = await self.client.query_points(
            collection_name(db.provider_key),
            query=embedding,
            limit=k,
            query_filter=qdrant_filter(where) if where else None,
            with_payload=True,
            with_vectors=with_embeddings,
        )
        return [_hit(p, float(p.score)) for p in result.points]

    async def query_keyword(
        self, db: VectorDB, text: str, k: int, where: MetadataFilter | None, with_embeddings: bool
    ) -> list[VectorHit]:
        terms = keyword_terms(text)
        name = collection_name(db.provider_key)
        words = models.FieldCondition(key="text", match=models.MatchTextAny(text_any=" ".join(terms)))
        must: list[models.Condition] = [words, *([qdrant_filter(where)] if where else [])]
        points, _ = await self.client.scroll(
            name,
            scroll_filter=models.Filter(must=must),
            limit=self.config.keyword_candidates,
            with_payload=True,
            with_vectors=with_embeddings,
        )
        total = (await self.client.count(name, exact=False)).count
        candidates = [(_hit(p, 0.0), str((p.payload or {}).get("text", ""))) for p in points]
        return bm25_rank(terms, candidates, total, k)

    async def health(self) -> dict[str, str]:
        await self.client.get_collections()
        return {"status": "OK"}

    async def close(self) -> None:
        await self.client.close()


def _local_path(config: QdrantConfig, state_dir: Path) -> Path:
    path = Path(config.path).expanduser() if config.path else state_dir / "qdrant"
    path.mkdir(parents=True, exist_ok=True)
    return path


async def create_inline(config: QdrantConfig, context: ProviderContext) -> VectorIOAdapter:
    if config.url:
        raise ConfigError("inline::qdrant is local mode: remove url (or use remote::qdrant).")
    path = await asyncio.to_thread(_local_path, config, context.state_dir)
    client = AsyncQdrantClient(path=str(path))
    return VectorIOAdapter(QdrantIndex(client, config, remote=False), context)


async def create_remote(config: QdrantConfig, context: ProviderContext) -> VectorIOAdapter:
    if not config.url:
        raise ConfigError("remote::qdrant needs url, e.g. http://localhost:6333.")
    if config.path:
        raise ConfigError("remote::qdrant stores data in the server: remove path.")
    api_key = config.api_key.get_secret_value() if config.api_key else None
    client = AsyncQdrantClient(url=config.url, api_key=api_key, timeout=int(config.timeout))
    return VectorIOAdapter(QdrantIndex(client, config, remote=True), context)
