"""Vector DBs as Chroma collections (cosine HNSW); the Chroma client is synchronous, so calls run in
threads. Each chunk's scalar metadata is stored for filtering, its whole document as JSON beside it,
and its lower-cased text as the Chroma document (for keyword candidates)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

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

from .config import ChromaConfig

DOC_KEY = "_stack_doc"
_OPS = {
    "eq": "$eq",
    "ne": "$ne",
    "gt": "$gt",
    "gte": "$gte",
    "lt": "$lt",
    "lte": "$lte",
    "in": "$in",
    "nin": "$nin",
}
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


def collection_name(key: str) -> str:
    """The vector DB's provider key if Chroma accepts it as a name, else a stable hashed name."""
    return key if _NAME.match(key) else "stack-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def chroma_where(where: MetadataFilter) -> dict[str, Any]:
    if isinstance(where, ComparisonFilter):
        return {where.key: {_OPS[where.type]: where.value}}
    parts = [chroma_where(f) for f in where.filters]
    return parts[0] if len(parts) == 1 else {f"${where.type}": parts}


def _metadata(chunk: IndexedChunk) -> dict[str, Any]:
    flat: dict[str, Any] = {
        k: v for k, v in chunk.metadata.items() if isinstance(v, str | int | float | bool) and k != DOC_KEY
    }
    flat[DOC_KEY] = orjson.dumps(chunk.document).decode()
    return flat


class ChromaIndex:
    """A ``VectorIndex`` on a Chroma client (embedded or HTTP)."""

    def __init__(self, client: Any, config: ChromaConfig) -> None:
        self.client, self.config = client, config
        self.collections: dict[str, Any] = {}
        self.batch = int(client.get_max_batch_size())

    def _collection(self, db: VectorDB) -> Any:
        found = self.collections.get(db.provider_key)
        return found if found is not None else self._create(db)

    def _create(self, db: VectorDB) -> Any:
        collection = self.client.get_or_create_collection(
            collection_name(db.provider_key),
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"stack_vector_db": db.provider_key, "embedding_dimension": db.embedding_dimension},
            embedding_function=None,
        )
        stored = (collection.metadata or {}).get("embedding_dimension")
        if stored is not None and int(stored) != db.embedding_dimension:
            raise ConflictError(
                f"Chroma collection '{collection.name}' already holds {stored}-dimensional embeddings; "
                f"vector DB '{db.identifier}' wants {db.embedding_dimension}.",
                param="embedding_dimension",
            )
        self.collections[db.provider_key] = collection
        return collection

    async def create(self, db: VectorDB) -> None:
        await asyncio.to_thread(self._create, db)

    def _drop(self, db: VectorDB) -> None:
        self.collections.pop(db.provider_key, None)
        name = collection_name(db.provider_key)
        if name in {c.name for c in self.client.list_collections()}:
            self.client.delete_collection(name)

    async def drop(self, db: VectorDB) -> None:
        await asyncio.to_thread(self._drop, db)

    def _upsert(self, db: VectorDB, chunks: Sequence[IndexedChunk]) -> None:
        collection = self._collection(db)
        for start in range(0, len(chunks), self.batch):
            batch = chunks[start : start + self.batch]
            collection.upsert(
                ids=[c.id for c in batch],
                embeddings=[c.embedding for c in batch],
                documents=[c.text.lower() for c in batch],
                metadatas=[_metadata(c) for c in batch],
            )

    async def upsert(self, db: VectorDB, chunks: Sequence[IndexedChunk]) -> None:
        await asyncio.to_thread(self._upsert, db, chunks)

    async def delete(self, db: VectorDB, ids: Sequence[str]) -> None:
        collection = self._collection(db)
        await asyncio.to_thread(collection.delete, ids=list(ids))

    def _query_vector(
        self, db: VectorDB, embedding: list[float], k: int, where: MetadataFilter | None, vectors: bool
    ) -> list[VectorHit]:
        include = ["metadatas", "distances", *(["embeddings"] if vectors else [])]
        result = self._collection(db).query(
            query_embeddings=[embedding],
            n_results=k,
            where=chroma_where(where) if where else None,
            include=include,
        )
        embeddings = result.get("embeddings")
        return [
            VectorHit(
                chunk_id,
                1.0 - float(distance),
                orjson.loads(meta[DOC_KEY]),
                [float(x) for x in embeddings[0][i]] if vectors and embeddings is not None else None,
            )
            for i, (chunk_id, distance, meta) in enumerate(
                zip(result["ids"][0], result["distances"][0], result["metadatas"][0], strict=True)
            )
        ]

    async def query_vector(
        self,
        db: VectorDB,
        embedding: list[float],
        k: int,
        where: MetadataFilter | None,
        with_embeddings: bool,
    ) -> list[VectorHit]:
        return await asyncio.to_thread(self._query_vector, db, embedding, k, where, with_embeddings)

    def _query_keyword(
        self, db: VectorDB, text: str, k: int, where: MetadataFilter | None, vectors: bool
    ) -> list[VectorHit]:
        terms = keyword_terms(text)
        contains = [{"$contains": t} for t in terms]
        collection = self._collection(db)
        result = collection.get(
            where=chroma_where(where) if where else None,
            where_document=contains[0] if len(contains) == 1 else {"$or": contains},
            limit=self.config.keyword_candidates,
            include=["metadatas", "documents", *(["embeddings"] if vectors else [])],
        )
        embeddings = result.get("embeddings")
        candidates = [
            (
                VectorHit(
                    chunk_id,
                    0.0,
                    orjson.loads(meta[DOC_KEY]),
                    [float(x) for x in embeddings[i]] if vectors and embeddings is not None else None,
                ),
                document,
            )
            for i, (chunk_id, meta, document) in enumerate(
                zip(result["ids"], result["metadatas"], result["documents"], strict=True)
            )
        ]
        return bm25_rank(terms, candidates, collection.count(), k)

    async def query_keyword(
        self, db: VectorDB, text: str, k: int, where: MetadataFilter | None, with_embeddings: bool
    ) -> list[VectorHit]:
        return await asyncio.to_thread(self._query_keyword, db, text, k, where, with_embeddings)

    async def health(self) -> dict[str, str]:
        await asyncio.to_thread(self.client.heartbeat)
        return {"status": "OK"}

    async def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            await asyncio.to_thread(close)


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def _persistent_client(state_dir: Path, config: ChromaConfig) -> Any:
    import chromadb

    path = Path(config.path).expanduser() if config.path else state_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(path), settings=_settings(), tenant=config.tenant, database=config.database
    )


def _http_client(url: str, config: ChromaConfig) -> Any:
    import chromadb

    parts = urlsplit(url if "://" in url else f"http://{url}")
    ssl = parts.scheme == "https"
    headers = {"x-chroma-token": config.api_key.get_secret_value()} if config.api_key else None
    return chromadb.HttpClient(
        host=parts.hostname or "localhost",
        port=parts.port or (443 if ssl else 8000),
        ssl=ssl,
        headers=headers,
        settings=_settings(),
        tenant=config.tenant,
        database=config.database,
    )


async def create_inline(config: ChromaConfig, context: ProviderContext) -> VectorIOAdapter:
    if config.url:
        raise ConfigError("inline::chromadb is embedded: remove url (or use remote::chromadb).")
    client = await asyncio.to_thread(_persistent_client, context.state_dir, config)
    return VectorIOAdapter(ChromaIndex(client, config), context)


async def create_remote(config: ChromaConfig, context: ProviderContext) -> VectorIOAdapter:
    if not config.url:
        raise ConfigError("remote::chromadb needs url, e.g. http://localhost:8000.")
    if config.path:
        raise ConfigError("remote::chromadb stores data in the server: remove path.")
    client = await asyncio.to_thread(_http_client, config.url, config)
    return VectorIOAdapter(ChromaIndex(client, config), context)
