"""Processing attached files in the background: read (Files API), extract, chunk, insert (vector_io).

Each attach records the file ``in_progress`` with a new ``run`` id and submits a kernel job of kind
``vector_stores.file`` with that id (params: store, file, run). The stack's job service runs it in
whichever server process claims it, as the user who attached the file; if that process stops or
dies, another resumes the file from the start (chunk ids are derived from the file, so the new run
overwrites what the old one inserted); cancelling the job stops it.

A run ends by marking the file ``completed`` or ``failed`` (with ``last_error``), and never leaves
chunks behind when it does not complete: on failure or cancellation the chunks it may have inserted
are deleted. A run whose record was detached or re-attached meanwhile (perhaps by another worker) is
superseded: it writes nothing, and deletes its chunks only if the file was detached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from stack_core import (
    BadRequestError,
    Chunk,
    FilesClient,
    JobHandle,
    JobService,
    NotFoundError,
    StackError,
    VectorIOClient,
)
from stack_core.apis.vector_stores import BatchFile
from stack_core.kits.documents import ExtractionError, chunk_text, extract_text

from .config import VectorStoresConfig
from .records import Body, Records

log = logging.getLogger("stack.vector_stores")
KIND = "vector_stores.file"
RESERVED = ("file_id", "filename", "document_id")
_IDS = uuid.UUID("0f3c9a52-6d1e-4b7a-8e55-3a9d2b7c1e40")


def chunk_id(store_id: str, file_id: str, index: int) -> str:
    """Chunk ids are derived, so a file's chunks can be deleted knowing only how many there are."""
    return str(uuid.uuid5(_IDS, f"{store_id}/{file_id}/{index}"))


async def file_names(files: FilesClient, entries: list[BatchFile]) -> dict[str, str]:
    """The filenames of the entries' files; 404 for one the Files API does not know (or hides)."""
    names: dict[str, str] = {}
    for entry in entries:
        try:
            names[entry.file_id] = (await files.retrieve(entry.file_id)).filename
        except NotFoundError:
            raise NotFoundError(
                f"File '{entry.file_id}' not found. Upload it first (POST /v1/files).",
                param="file_id",
                code="file_not_found",
            ) from None
    return names


class Ingestor:
    def __init__(
        self,
        config: VectorStoresConfig,
        files: FilesClient,
        vector_io: VectorIOClient,
        records: Records,
        jobs: JobService,
    ) -> None:
        self.config, self.files, self.vector_io, self.records = config, files, vector_io, records
        self.jobs = jobs

    def register(self) -> None:
        """Run this provider's file jobs in this process (``max_concurrent_files`` at a time)."""
        self.jobs.register(
            KIND,
            self.run,
            concurrency=self.config.max_concurrent_files,
            lease_seconds=self.config.processing_lease_seconds,
        )

    async def submit(self, record: Body) -> None:
        """Process ``record``'s file in the background, as the current user (its ``run`` is the job id)."""
        params = {"vector_store_id": record["vector_store_id"], "file_id": record["id"], "run": record["run"]}
        await self.jobs.submit(KIND, params, job_id=record["run"])

    async def active(self, record: Body) -> bool:
        """Whether the record's run is queued or running (in any process)."""
        try:
            return not (await self.jobs.get(record["run"], check_access=False)).finished
        except NotFoundError:
            return False

    async def stop(self, record: Body) -> None:
        """Cancel the record's run: in this process, wait until it has cleaned up; in another, it
        stops at its next progress report and cleans up there."""
        with contextlib.suppress(NotFoundError):
            await self.jobs.cancel(record["run"], check_access=False)

    async def delete_chunks(
        self, vector_db_id: str, store_id: str, file_id: str, count: int, first: int = 0
    ) -> None:
        """Delete a file's chunks number ``first`` to ``count - 1``."""
        ids = [chunk_id(store_id, file_id, i) for i in range(first, count)]
        for start in range(0, len(ids), 1000):
            await self.vector_io.delete(vector_db_id, ids[start : start + 1000])

    async def run(self, job: JobHandle) -> dict[str, Any]:
        """The job runner: process one attached file, unless its run was superseded."""
        store_id, file_id, run = (job.params[k] for k in ("vector_store_id", "file_id", "run"))
        record = await self.records.find_file(store_id, file_id)
        if record is None or record.get("run") != run or record["status"] != "in_progress":
            return {"superseded": True}
        try:
            vector_db_id = (await self.records.store(store_id))["vector_db_id"]
        except NotFoundError:  # its store was deleted meanwhile
            return {"superseded": True}
        key, planned = f"{store_id}/{file_id}", int(record.get("chunk_count") or 0)
        try:
            await job.progress(0)
            parts = await self._extract(file_id)
            static = record["chunking_strategy"]["static"]
            size, overlap = static["max_chunk_size_tokens"], static["chunk_overlap_tokens"]
            texts = chunk_text("\n\n".join(parts), size, overlap)
            planned = max(planned, len(texts))
            await self._insert(vector_db_id, record, texts, job)
            current = await self.records.find_file(store_id, file_id)
            if current is None or current.get("run") != run or current["status"] != "in_progress":
                if current is None or current.get("run") == run:
                    await self._cleanup(vector_db_id, store_id, file_id, planned)
                return {"superseded": True}
            if len(texts) < planned:
                await self.delete_chunks(vector_db_id, store_id, file_id, planned, first=len(texts))
            await self._save_content(key, parts)
            usage = sum(len(t.encode()) for t in parts)
            await self.records.update_file(
                store_id, file_id, status="completed", usage_bytes=usage, chunk_count=len(texts)
            )
            return {"chunk_count": len(texts), "usage_bytes": usage}
        except asyncio.CancelledError:  # on shutdown (or a takeover) the next run resumes the file
            if job.stop_reason == "cancelled":
                current = await self.records.find_file(store_id, file_id)
                if current is None or current.get("run") == run:
                    await self._cleanup(vector_db_id, store_id, file_id, planned)
                await self._finish(record, "cancelled", None)
            raise
        except ExtractionError as exc:
            await self._fail(vector_db_id, record, planned, exc.code, exc.message)
            raise BadRequestError(exc.message, code=exc.code) from None
        except StackError as exc:
            await self._fail(vector_db_id, record, planned, "server_error", exc.message)
            raise
        except Exception as exc:
            await self._fail(vector_db_id, record, planned, "server_error", f"{type(exc).__name__}: {exc}")
            raise

    async def _extract(self, file_id: str) -> list[str]:
        content = await self.files.content(file_id)
        filename = content.filename or file_id
        return await asyncio.to_thread(extract_text, content.data, filename, content.media_type)

    async def _insert(self, vector_db_id: str, record: Body, texts: list[str], job: JobHandle) -> None:
        store_id, file_id = record["vector_store_id"], record["id"]
        attributes: dict[str, Any] = dict(record.get("attributes") or {})
        metadata = {**attributes, "file_id": file_id, "filename": record["filename"], "document_id": file_id}
        batch = self.config.insert_batch_size
        for start in range(0, len(texts), batch):
            chunks = [
                Chunk(content=text, metadata=metadata, chunk_id=chunk_id(store_id, file_id, start + i))
                for i, text in enumerate(texts[start : start + batch])
            ]
            await self.vector_io.insert(vector_db_id, chunks)
            await job.progress(start + len(chunks), len(texts))

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
