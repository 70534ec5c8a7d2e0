"""Two job services on one Postgres, each with its own engine and pool as two server processes
would have: claiming is a compare-and-set, so every job runs exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres import async_url, embedded_postgres

from stack_core.config import StoreConfig
from stack_core.jobs import JobHandle, JobService
from stack_core.storage import Database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with embedded_postgres(tmp_path_factory.mktemp("pg")) as uri:
        yield async_url(uri)


async def test_two_services_on_one_postgres_run_each_job_once(url: str, tmp_path: Path) -> None:
    store = StoreConfig(type="sql", url=url, namespace="jobs")
    databases = [Database(store, tmp_path / "unused.db") for _ in range(2)]
    services = [JobService(d, lease_seconds=10, poll_interval=0.05) for d in databases]
    runs: list[tuple[str, str | None]] = []

    async def work(job: JobHandle) -> None:
        runs.append((job.id, job.job.holder))
        for step in range(3):
            await job.progress(step + 1, 3)
            await asyncio.sleep(0.01)

    for service in services:
        service.register("work", work, concurrency=4)
    try:
        submitted = [await services[0].submit("work", {"n": n}) for n in range(40)]
        await asyncio.gather(*(s.start() for s in services))
        async with asyncio.timeout(60):
            done = [await services[1].wait(job.id) for job in submitted]
    finally:
        for service in services:
            await service.stop()
        for database in databases:
            await database.close()
    assert {(j.status, j.attempts) for j in done} == {("succeeded", 1)}
    assert Counter(job_id for job_id, _ in runs) == Counter(j.id for j in submitted)  # once each
    assert {holder for _, holder in runs} == {s.holder for s in services}  # both took part
