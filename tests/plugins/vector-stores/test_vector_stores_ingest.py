"""The background ingestion's guarantees (nothing half-written on failure or cancel, superseded runs
write nothing, a stopping server's files resumed by the next), extraction and chunking, in-process
over the real owned-object store and job service (SQLite)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from stack_provider_vector_stores.config import VectorStoresConfig
from stack_provider_vector_stores.ingest import Ingestor, chunk_id
from stack_provider_vector_stores.records import Records

from stack_core import (
    Chunk,
    Job,
    JobService,
    ProviderContext,
    ProviderError,
    Resource,
    new_job_id,
)
from stack_core.kits.documents import ExtractionError, chunk_text, count_tokens, extract_text
from stack_core.payloads import BinaryContent
from stack_core.storage import Database

TEXT = " ".join(f"sentence {i} of a long document." for i in range(200))


class NoResources:
    def get(self, type: str, identifier: str) -> Resource | None:
        return None

    def list(self, type: str) -> list[Resource]:
        return []


class OneFile:
    async def content(self, file_id: str) -> BinaryContent:
        return BinaryContent(TEXT.encode(), "text/plain", "doc.txt")


class VectorIO:
    """A ``VectorIOClient`` double recording inserts and deletes; the ``fail_on``-th insert raises,
    or waits for ``release``."""

    def __init__(self, fail_on: int | None = None, block_on: int | None = None) -> None:
        self.fail_on, self.block_on = fail_on, block_on
        self.inserted: list[str] = []
        self.deleted: list[str] = []
        self.blocked, self.release = asyncio.Event(), asyncio.Event()

    async def insert(self, vector_db_id: str, chunks: list[Chunk]) -> None:
        calls = len(self.inserted) // 2 + 1
        if calls == self.fail_on:
            raise ProviderError("the backend went away", provider_id="vectors")
        if calls == self.block_on:
            self.blocked.set()
            await self.release.wait()
        self.inserted += [c.chunk_id or "" for c in chunks]

    async def delete(self, vector_db_id: str, chunk_ids: list[str]) -> None:
        self.deleted += chunk_ids


@pytest.fixture
def records(database: Database, tmp_path: Path) -> Records:
    context = ProviderContext(
        provider_id="vs",
        api="vector_stores",
        deps={},
        resources=NoResources(),
        database=database,
        state_dir=tmp_path,
    )
    return Records(context)


def ingestor(records: Records, jobs: JobService, vector_io: VectorIO) -> Ingestor:
    config = VectorStoresConfig(chunk_size_tokens=100, chunk_overlap_tokens=0, insert_batch_size=2)
    ingestor = Ingestor(config, OneFile(), vector_io, records, jobs)  # type: ignore[arg-type]
    ingestor.register()
    return ingestor


async def start(records: Records, jobs: JobService, vector_io: VectorIO, run: str = "") -> str:
    """Attach file-1 to vs_1 and submit its job (for ``run``, if given, while the record names
    another run); return the job id."""
    await records.stores.create("vs_1", {"id": "vs_1", "vector_db_id": "vs_1"})
    static = {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}
    record: dict[str, Any] = {
        "id": "file-1",
        "vector_store_id": "vs_1",
        "status": "in_progress",
        "chunking_strategy": {"type": "static", "static": static},
        "filename": "doc.txt",
        "run": new_job_id(),
    }
    await records.put_file(record, exists=False)
    await ingestor(records, jobs, vector_io).submit({**record, "run": run or record["run"]})
    await jobs.start()
    return run or str(record["run"])


async def finished(jobs: JobService, job_id: str) -> Job:
    async with asyncio.timeout(30):
        return await jobs.wait(job_id)


async def test_a_failure_midway_deletes_the_chunks_already_inserted(
    records: Records, jobs: JobService
) -> None:
    vector_io = VectorIO(fail_on=3)
    job = await finished(jobs, await start(records, jobs, vector_io))
    stored = await records.file("vs_1", "file-1")
    assert stored["status"] == "failed" and stored["last_error"]["code"] == "server_error"
    assert "went away" in stored["last_error"]["message"] and job.status == "failed"
    assert len(vector_io.inserted) == 4 and set(vector_io.inserted) <= set(vector_io.deleted)


async def test_a_cancelled_run_ends_cancelled_without_chunks(records: Records, jobs: JobService) -> None:
    vector_io = VectorIO(block_on=2)
    job_id = await start(records, jobs, vector_io)
    await vector_io.blocked.wait()
    assert (await jobs.cancel(job_id)).status == "cancelled"
    assert (await records.file("vs_1", "file-1"))["status"] == "cancelled"
    assert vector_io.inserted and set(vector_io.inserted) <= set(vector_io.deleted)


async def test_a_completed_run_records_its_chunks(records: Records, jobs: JobService) -> None:
    vector_io = VectorIO()
    job = await finished(jobs, await start(records, jobs, vector_io))
    stored = await records.file("vs_1", "file-1")
    expected = chunk_text(TEXT, 100, 0)
    assert stored["status"] == "completed" and stored["chunk_count"] == len(expected) > 1
    assert vector_io.inserted == [chunk_id("vs_1", "file-1", i) for i in range(len(expected))]
    assert vector_io.deleted == [] and job.status == "succeeded"
    assert (job.done, job.total) == (len(expected), len(expected))


async def test_a_superseded_run_writes_nothing(records: Records, jobs: JobService) -> None:
    vector_io = VectorIO()
    job = await finished(jobs, await start(records, jobs, vector_io, run=new_job_id()))
    assert job.result == {"superseded": True} and vector_io.inserted == []
    assert (await records.file("vs_1", "file-1"))["status"] == "in_progress"


async def test_a_stopping_server_hands_its_runs_over_for_resumption(
    records: Records, jobs: JobService, database: Database
) -> None:
    vector_io = VectorIO(block_on=2)
    job_id = await start(records, jobs, vector_io)
    await vector_io.blocked.wait()
    await jobs.stop()
    stored, held = await records.file("vs_1", "file-1"), await jobs.get(job_id)
    assert stored["status"] == "in_progress" and vector_io.deleted == []
    assert held.status == "running" and (held.lease_until or 0) <= time.time()
    resumed, next_server = VectorIO(), JobService(database, poll_interval=0.05)
    ingestor(records, next_server, resumed)
    await next_server.start()
    try:
        assert (await finished(next_server, job_id)).status == "succeeded"
    finally:
        await next_server.stop()
    assert (await records.file("vs_1", "file-1"))["status"] == "completed"
    assert resumed.inserted == [chunk_id("vs_1", "file-1", i) for i in range(len(chunk_text(TEXT, 100, 0)))]


def test_chunks_are_windows_of_tokens_with_overlap() -> None:
    chunks = chunk_text(TEXT, 100, 25)
    assert all(count_tokens(c) <= 100 for c in chunks) and chunks[0].startswith("sentence 0")
    tokens = [re.findall(r"\w+|[^\w\s]", c) for c in chunks[:2]]
    assert tokens[1][:25] == tokens[0][-25:] and len(tokens[0]) == 100
    assert chunk_text("", 100, 0) == [] and chunk_text("one", 100, 0) == ["one"]


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"\x89PNG\r\n\x1a\n\x00", "a.png", "unsupported_file"),
        (b"PK\x03\x04rest", "a.docx", "unsupported_file"),
        (b"\x00\x01\x02\xff\xfe", "a.bin", "unsupported_file"),
        (b"%PDF-1.4 truncated", "a.pdf", "invalid_file"),
        (b" \n\t ", "a.txt", "invalid_file"),
    ],
)
def test_unreadable_files_are_refused_with_a_code(data: bytes, name: str, code: str) -> None:
    with pytest.raises(ExtractionError) as refused:
        extract_text(data, name)
    assert refused.value.code == code and name in refused.value.message


def test_text_and_markdown() -> None:
    assert extract_text("héllo".encode(), "notes") == ["héllo"]
    assert extract_text("caf\xe9".encode("latin-1"), "old.txt") == ["café"]
    markdown = extract_text(b"## Title\n![logo](x.png) see [docs](http://d) **now**", "README.md")
    assert markdown == ["Title\nlogo see docs now"]
