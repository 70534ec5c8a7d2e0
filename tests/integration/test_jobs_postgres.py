"""Two job services on one Postgres, in one process with an engine and pool each, and in two
processes: claiming is a compare-and-set, so every job runs exactly once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
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


def test_two_processes_on_one_postgres_run_each_job_once(url: str, tmp_path: Path) -> None:
    worker = Path(__file__).parents[1] / "support" / "job_pool_worker.py"
    store = StoreConfig(type="sql", url=url, namespace="processes")

    async def submit() -> list[str]:
        database = Database(store, tmp_path / "unused.db")
        service = JobService(database)
        try:
            return [(await service.submit("work", {"n": n})).id for n in range(40)]
        finally:
            await database.close()

    async def finished() -> list[tuple[str, int]]:
        database = Database(store, tmp_path / "unused.db")
        try:
            return [(j.status, j.attempts) for j in await JobService(database).list("work")]
        finally:
            await database.close()

    ids, log = asyncio.run(submit()), tmp_path / "runs.log"
    workers = [
        subprocess.Popen([sys.executable, str(worker), url, "processes", str(log), "40"]) for _ in range(2)
    ]
    assert [w.wait(120) for w in workers] == [0, 0]
    runs = [line.split() for line in log.read_text().splitlines()]
    assert Counter(job_id for job_id, _ in runs) == Counter(ids)  # every job ran, none twice
    assert {pid for _, pid in runs} == {str(w.pid) for w in workers}  # both processes took part
    assert set(asyncio.run(finished())) == {("succeeded", 1)}
