"""What the provider stores, as owned objects (so the kernel applies ownership and access control):

- ``vector_store`` ``vs_...``: name, metadata, expiry, and the vector DB holding its chunks;
- ``vector_store_file`` ``vs_.../file-...``: one attached file's status, attributes, chunking,
  ``chunk_count`` and ``run`` (the processing run that owns its chunks);
- ``vector_store_file_content`` (same id): the extracted text, for ``.../content``;
- ``vector_store_file_batch`` ``vs_.../vsfb_...``: the files of a batch.

File counts and usage are computed from the file records when read, never kept as counters.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from stack_core import Action, BadRequestError, NotFoundError, OwnedObjects, ProviderContext, paginate
from stack_core.apis.vector_stores import (
    FileCounts,
    ListVectorStoreFilesRequest,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileList,
)

Body = dict[str, Any]
DAY = 86400


class Row:
    """A body with its id, for ``paginate``."""

    __slots__ = ("body", "id")

    def __init__(self, body: Body) -> None:
        self.body, self.id = body, str(body["id"])


class Records:
    def __init__(self, context: ProviderContext) -> None:
        self.stores = context.owned_objects("vector_store")
        self.files = context.owned_objects("vector_store_file")
        self.contents = context.owned_objects("vector_store_file_content")
        self.batches = context.owned_objects("vector_store_file_batch")

    async def store(self, store_id: str, action: Action = "read") -> Body:
        """A store's body; 404 (as OpenAI words it) if it does not exist or is not the user's."""
        try:
            return (await self.stores.get(store_id, action)).body
        except NotFoundError:
            raise NotFoundError(
                f"No vector store found with id '{store_id}'.",
                param="vector_store_id",
                code="vector_store_not_found",
            ) from None

    async def file(self, store_id: str, file_id: str, action: Action = "read") -> Body:
        try:
            return (await self.files.get(f"{store_id}/{file_id}", action)).body
        except NotFoundError:
            raise NotFoundError(
                f"No file with id '{file_id}' in vector store '{store_id}'.",
                param="file_id",
                code="file_not_found",
            ) from None

    async def find_file(self, store_id: str, file_id: str) -> Body | None:
        try:
            return await self.file(store_id, file_id)
        except NotFoundError:
            return None

    async def content(self, store_id: str, file_id: str) -> list[str]:
        """The text extracted from a processed file (none before it is processed)."""
        try:
            parts: list[str] = (await self.contents.get(f"{store_id}/{file_id}")).body["parts"]
        except NotFoundError:
            return []
        return parts

    async def store_files(self, store_id: str) -> list[Body]:
        return [o.body for o in await self.files.list(prefix=f"{store_id}/")]

    async def put_file(self, body: Body, *, exists: bool) -> None:
        key = f"{body['vector_store_id']}/{body['id']}"
        if exists:
            await self.files.update(key, body)
        else:
            await self.files.create(key, body)

    async def update_file(self, store_id: str, file_id: str, **changes: Any) -> None:
        """Merge ``changes`` into a file record (no-op if it was detached meanwhile)."""
        current = await self.find_file(store_id, file_id)
        if current is not None:
            await self.files.update(f"{store_id}/{file_id}", {**current, **changes})

    async def forget_file(self, store_id: str, file_id: str) -> None:
        for objects in (self.files, self.contents):
            await _delete_quietly(objects, f"{store_id}/{file_id}")

    async def forget_store(self, store_id: str) -> None:
        for objects in (self.files, self.contents, self.batches):
            for obj in await objects.list(prefix=f"{store_id}/"):
                await _delete_quietly(objects, obj.identifier)
        await _delete_quietly(self.stores, store_id)

    async def touch(self, store: Body) -> None:
        """Record activity on a store (at most once a minute), which pushes back its expiry."""
        now = int(time.time())
        if now - int(store.get("last_active_at") or 0) >= 60:
            store["last_active_at"] = now
            await self.stores.update(store["id"], store)


async def _delete_quietly(objects: OwnedObjects, identifier: str) -> None:
    with contextlib.suppress(NotFoundError):
        await objects.delete(identifier)


def counts(files: Sequence[Body]) -> FileCounts:
    by_status = Counter(str(f["status"]) for f in files)
    return FileCounts(
        total=len(files), **{s: by_status[s] for s in ("in_progress", "completed", "failed", "cancelled")}
    )


def expires_at(store: Body) -> int | None:
    policy = store.get("expires_after")
    anchor = store.get("last_active_at") or store["created_at"]
    return int(anchor) + int(policy["days"]) * DAY if policy else None


def is_expired(store: Body) -> bool:
    deadline = expires_at(store)
    return deadline is not None and deadline <= time.time()


def store_model(store: Body, files: Sequence[Body]) -> VectorStore:
    file_counts = counts(files)
    status = "expired" if is_expired(store) else "in_progress" if file_counts.in_progress else "completed"
    return VectorStore.model_validate(
        {
            **{k: store.get(k) for k in ("id", "created_at", "name", "description", "expires_after")},
            "last_active_at": store.get("last_active_at"),
            "metadata": store.get("metadata") or {},
            "usage_bytes": sum(int(f.get("usage_bytes") or 0) for f in files),
            "file_counts": file_counts,
            "status": status,
            "expires_at": expires_at(store),
            **{k: store.get(k) for k in ("embedding_model", "embedding_dimension", "provider_id")},
        }
    )


_FILE_FIELDS = ("id", "created_at", "vector_store_id", "status", "usage_bytes", "last_error")


def file_model(body: Body) -> VectorStoreFile:
    return VectorStoreFile.model_validate(
        {
            **{k: body.get(k) for k in _FILE_FIELDS},
            "attributes": body.get("attributes") or {},
            "chunking_strategy": body["chunking_strategy"],
        }
    )


def batch_model(batch: Body, files: Sequence[Body]) -> VectorStoreFileBatch:
    file_counts = counts(files)
    if batch.get("cancelled"):
        status = "in_progress" if file_counts.in_progress else "cancelled"
    elif file_counts.in_progress:
        status = "in_progress"
    else:
        status = "failed" if file_counts.total and file_counts.failed == file_counts.total else "completed"
    return VectorStoreFileBatch(
        id=batch["id"],
        created_at=batch["created_at"],
        vector_store_id=batch["vector_store_id"],
        status=status,
        file_counts=file_counts,
    )


def file_page(files: list[Body], request: ListVectorStoreFilesRequest) -> VectorStoreFileList:
    models = [file_model(f) for f in files if request.filter is None or f["status"] == request.filter]
    page, more = paginate(models, request.order, request.limit, request.after, request.before)
    return VectorStoreFileList(
        data=page, has_more=more, first_id=page[0].id if page else None, last_id=page[-1].id if page else None
    )


def refuse_expired(store: Body) -> None:
    if is_expired(store):
        raise BadRequestError(
            f"Vector store '{store['id']}' has expired (expires_after); update its expiry policy or "
            "create a new store.",
            param="vector_store_id",
        )
