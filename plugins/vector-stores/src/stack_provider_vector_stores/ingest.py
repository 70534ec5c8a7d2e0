"""Processing attached files in the background: read (Files API), extract, chunk, insert (vector_io).

Each attach starts a *run* (an asyncio task, its id recorded on the file record). A run ends by
marking the file ``completed`` or ``failed`` (with ``last_error``), and never leaves chunks behind
when it does not complete: on failure or cancellation the chunks it may have inserted are deleted.
A run whose record was detached or re-attached meanwhile (perhaps by another worker) is superseded:
it writes nothing, and deletes its chunks only if the file was detached.

A run holds its file by a lease (``lease_until`` on the record, renewed as it goes). A server that
stops hands its runs' leases back; one that dies lets them lapse. Either way the file stays
``in_progress`` and is *resumed* by whichever process sees the lapsed lease first (``orphans``): chunk
ids are derived from the file, so the new run overwrites what the old one inserted.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any, Literal

from stack_core import (
    Chunk,
    DeleteChunksRequest,
    InsertChunksRequest,
    NotFoundError,
    OwnedObject,
    StackError,
    VectorIOProvider,
)
from stack_core.apis.files import FileContentRequest, FileIdRequest, FilesProvider
from stack_core.apis.vector_stores import BatchFile

from .chunking import chunk_text
from .config import VectorStoresConfig
from .extract import ExtractionError, extract_text
from .records import Body, Records

log = logging.getLogger("stack.vector_stores")
Reason = Literal["cancelled", "shutdown", "cleanup", "dropped"]
RESERVED = ("file_id", "filename", "document_id")
_IDS = uuid.UUID("0f3c9a52-6d1e-4b7a-8e55-3a9d2b7c1e40")


def chunk_id(store_id: str, file_id: str, index: int) -> str:
    """Chunk ids are derived, so a file's chunks can be deleted knowing only how many there are."""
    return str(uuid.uuid5(_IDS, f"{store_id}/{file_id}/{index}"))


async def file_names(files: FilesProvider, entries: list[BatchFile]) -> dict[str, str]:
    """The filenames of the entries' files; 404 for one the Files API does not know (or hides)."""
    names: dict[str, str] = {}
    for entry in entries:
        try:
            names[entry.file_id] = (await files.retrieve_file(FileIdRequest(file_id=entry.file_id))).filename
        except NotFoundError:
            raise NotFoundError(
                f"File '{entry.file_id}' not found. Upload it first (POST /v1/files).",
                param="file_id",
                code="file_not_found",
            ) from None
    return names


class Ingestor:
    def __init__(
        self, config: VectorStoresConfig, files: FilesProvider, vector_io: VectorIOProvider, records: Records
    ) -> None:
        self.config, self.files, self.vector_io, self.records = config, files, vector_io, records
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.reasons: dict[str, Reason] = {}
        self.slots = asyncio.Semaphore(config.max_concurrent_files)

    def running(self, store_id: str, file_id: str) -> bool:
        return f"{store_id}/{file_id}" in self.tasks

    def start(self, store: Body, record: Body) -> None:
        """Process ``record``'s file in the background, as the current user."""
        key = f"{store['id']}/{record['id']}"
        task = asyncio.create_task(self._run(store["vector_db_id"], record), name=f"vector-store {key}")
        self.tasks[key] = task
        task.add_done_callback(lambda done: self.tasks.pop(key) if self.tasks.get(key) is done else None)

    async def stop(self, keys: Iterable[str], reason: Reason) -> None:
        """Cancel the runs of these ``store/file`` keys in this process and wait for their cleanup."""
        stopping = []
        for key in keys:
            task = self.tasks.get(key)
            if task is not None:
                self.reasons[key] = reason
                task.cancel()
                stopping.append(task)
        await asyncio.gather(*stopping, return_exceptions=True)

    async def shutdown(self) -> None:
        await self.stop(list(self.tasks), "shutdown")

    def lease(self) -> float:
        """When a lease taken now lapses."""
        return time.time() + self.config.processing_lease_seconds

    async def orphans(self) -> list[OwnedObject]:
        """``in_progress`` files, whoever attached them, that no run holds: their lease lapsed."""
        now = time.time()
        return [
            o
            for o in await self.records.files.everyone(matching={"status": "in_progress"})
            if float(o.body.get("lease_until") or 0) < now
            and not self.running(o.body["vector_store_id"], o.body["id"])
        ]

    async def _hold(self, record: Body, until: float) -> None:
        """Set the run's lease to lapse at ``until`` (unless another run took the file over)."""
        record["lease_until"] = until
        current = await self.records.find_file(record["vector_store_id"], record["id"])
        if current is not None and current.get("run") == record["run"]:
            await self.records.put_file({**current, "lease_until": until}, exists=True)

    async def _renew(self, record: Body) -> None:
        """Push the lease back once a third of it has passed."""
        lease = self.config.processing_lease_seconds
        if time.time() > float(record.get("lease_until") or 0) - lease * 2 / 3:
            await self._hold(record, self.lease())

    async def delete_chunks(
        self, vector_db_id: str, store_id: str, file_id: str, count: int, first: int = 0
    ) -> None:
        """Delete a file's chunks number ``first`` to ``count - 1``."""
        ids = [chunk_id(store_id, file_id, i) for i in range(first, count)]
        for start in range(0, len(ids), 1000):
            request = DeleteChunksRequest(vector_db_id=vector_db_id, chunk_ids=ids[start : start + 1000])
            await self.vector_io.delete_chunks(request)

    async def _run(self, vector_db_id: str, record: Body) -> None:
        store_id, file_id, run = record["vector_store_id"], record["id"], record["run"]
        key, planned = f"{store_id}/{file_id}", int(record.get("chunk_count") or 0)
        try:
            async with self.slots:
                await self._renew(record)
                parts = await self._extract(file_id)
                static = record["chunking_strategy"]["static"]
                size, overlap = static["max_chunk_size_tokens"], static["chunk_overlap_tokens"]
                texts = chunk_text("\n\n".join(parts), size, overlap)
                planned = max(planned, len(texts))
                await self._insert(vector_db_id, record, texts)
                current = await self.records.find_file(store_id, file_id)
                if current is None or current.get("run") != run or current["status"] != "in_progress":
                    if current is None or current.get("run") == run:
                        await self._cleanup(vector_db_id, store_id, file_id, planned)
                    return
                if len(texts) < planned:
                    await self.delete_chunks(vector_db_id, store_id, file_id, planned, first=len(texts))
                await self._save_content(key, parts)
                usage = sum(len(t.encode()) for t in parts)
                await self.records.update_file(
                    store_id, file_id, status="completed", usage_bytes=usage, chunk_count=len(texts)
                )
        except asyncio.CancelledError:
            reason = self.reasons.pop(key, "shutdown")
            if reason == "shutdown":  # handed over: the next process resumes the file at once
                await self._hold(record, 0.0)
            elif reason != "dropped":
                await self._cleanup(vector_db_id, store_id, file_id, planned)
                if reason == "cancelled":
                    await self._finish(record, "cancelled", None)
            raise
        except ExtractionError as exc:
            await self._fail(vector_db_id, record, planned, exc.code, exc.message)
        except StackError as exc:
            await self._fail(vector_db_id, record, planned, "server_error", exc.message)
        except Exception as exc:
            log.exception("processing %s failed", key)
            await self._fail(vector_db_id, record, planned, "server_error", f"{type(exc).__name__}: {exc}")

    async def _extract(self, file_id: str) -> list[str]:
        content = await self.files.file_content(FileContentRequest(file_id=file_id))
        filename = content.filename or file_id
        return await asyncio.to_thread(extract_text, content.data, filename, content.media_type)

    async def _insert(self, vector_db_id: str, record: Body, texts: list[str]) -> None:
        store_id, file_id = record["vector_store_id"], record["id"]
        attributes: dict[str, Any] = dict(record.get("attributes") or {})
        metadata = {**attributes, "file_id": file_id, "filename": record["filename"], "document_id": file_id}
        batch = self.config.insert_batch_size
        for start in range(0, len(texts), batch):
            chunks = [
                Chunk(content=text, metadata=metadata, chunk_id=chunk_id(store_id, file_id, start + i))
                for i, text in enumerate(texts[start : start + batch])
            ]
            await self.vector_io.insert_chunks(InsertChunksRequest(vector_db_id=vector_db_id, chunks=chunks))
            await self._renew(record)

    async def _save_content(self, key: str, parts: list[str]) -> None:
        try:
            await self.records.contents.get(key)
        except StackError:
            await self.records.contents.create(key, {"parts": parts})
        else:
            await self.records.contents.update(key, {"parts": parts})

    async def _cleanup(self, vector_db_id: str, store_id: str, file_id: str, count: int) -> None:
        try:
            await self.delete_chunks(vector_db_id, store_id, file_id, count)
        except StackError as exc:
            log.warning("could not delete the chunks of %s/%s: %s", store_id, file_id, exc.message)

    async def _fail(self, vector_db_id: str, record: Body, planned: int, code: str, message: str) -> None:
        await self._cleanup(vector_db_id, record["vector_store_id"], record["id"], planned)
        await self._finish(record, "failed", {"code": code, "message": message})

    async def _finish(self, record: Body, status: str, error: dict[str, str] | None) -> None:
        """Record how a run ended, unless another run took the file over meanwhile."""
        store_id, file_id = record["vector_store_id"], record["id"]
        current = await self.records.find_file(store_id, file_id)
        if current is not None and current.get("run") == record["run"]:
            await self.records.update_file(store_id, file_id, status=status, last_error=error, chunk_count=0)
