"""``inline::faiss``: a ``VectorIndex`` of on-disk collections, one directory per vector DB; every
call runs in a worker thread holding that collection's lock."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from stack_core import (
    ConflictError,
    IndexedChunk,
    MetadataFilter,
    ProviderContext,
    VectorDB,
    VectorHit,
    VectorIOAdapter,
)

from .collection import Collection
from .config import FaissConfig

T = TypeVar("T")


class FaissIndex:
    def __init__(self, root: Path, config: FaissConfig) -> None:
        self.root, self.config = root, config
        self.collections: dict[str, Collection] = {}
        self._opening = asyncio.Lock()

    def directory(self, db: VectorDB) -> Path:
        return self.root / hashlib.sha256(db.provider_key.encode()).hexdigest()[:32]

    async def create(self, db: VectorDB) -> None:
        async with self._opening:
            existing = self.collections.get(db.provider_key)
            if existing is not None and existing.dimension == db.embedding_dimension:
                return
            try:
                opened = await asyncio.to_thread(
                    Collection, self.directory(db), db.embedding_dimension, self.config
                )
            except ValueError as exc:
                raise ConflictError(
                    f"Vector DB '{db.identifier}': {exc}.", param="embedding_dimension"
                ) from None
            self.collections[db.provider_key] = opened

    async def _run(self, db: VectorDB, work: Callable[[Collection], T]) -> T:
        if db.provider_key not in self.collections:
            await self.create(db)
        collection = self.collections[db.provider_key]

        def locked() -> T:
            with collection.lock:
                return work(collection)

        return await asyncio.to_thread(locked)

    async def drop(self, db: VectorDB) -> None:
        collection = self.collections.pop(db.provider_key, None)

        def remove() -> None:
            if collection is not None:
                with collection.lock:
                    collection.db.close()
            shutil.rmtree(self.directory(db), ignore_errors=True)

        await asyncio.to_thread(remove)

    async def upsert(self, db: VectorDB, chunks: Sequence[IndexedChunk]) -> None:
        await self._run(db, lambda c: c.upsert(chunks))

    async def delete(self, db: VectorDB, ids: Sequence[str]) -> None:
        await self._run(db, lambda c: c.delete(ids))

    async def query_vector(
        self,
        db: VectorDB,
        embedding: list[float],
        k: int,
        where: MetadataFilter | None,
        with_embeddings: bool,
    ) -> list[VectorHit]:
        return await self._run(db, lambda c: c.query_vector(embedding, k, where, with_embeddings))

    async def query_keyword(
        self, db: VectorDB, text: str, k: int, where: MetadataFilter | None, with_embeddings: bool
    ) -> list[VectorHit]:
        return await self._run(db, lambda c: c.query_keyword(text, k, where, with_embeddings))

    async def close(self) -> None:
        def close_all() -> None:
            for collection in self.collections.values():
                with collection.lock:
                    collection.close()

        await asyncio.to_thread(close_all)
        self.collections.clear()


def _root(config: FaissConfig, state_dir: Path) -> Path:
    root = Path(config.path).expanduser() if config.path else state_dir / "faiss"
    root.mkdir(parents=True, exist_ok=True)
    return root


async def create_provider(config: FaissConfig, context: ProviderContext) -> VectorIOAdapter:
    root = await asyncio.to_thread(_root, config, context.state_dir)
    return VectorIOAdapter(FaissIndex(root, config), context)
