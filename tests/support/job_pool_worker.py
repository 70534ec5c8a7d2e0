"""A server process in miniature for the two-process Postgres test: runs jobs of kind ``work``
from the database at URL until all COUNT of them have finished, then exits.

usage: job_pool_worker.py URL NAMESPACE LOG COUNT

Each run appends ``<job id> <pid>`` to LOG when it starts.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from stack_core.config import StoreConfig
from stack_core.jobs import JobHandle, JobService
from stack_core.storage import Database


async def main(url: str, namespace: str, log: Path, count: int) -> None:
    async def work(job: JobHandle) -> None:
        with log.open("a") as out:
            out.write(f"{job.id} {os.getpid()}\n")
        for step in range(3):
            await asyncio.sleep(0.1)
            await job.progress(step + 1, 3)

    database = Database(StoreConfig(type="sql", url=url, namespace=namespace), log.with_suffix(".unused.db"))
    jobs = JobService(database, lease_seconds=10, poll_interval=0.05)
    jobs.register("work", work, concurrency=4)
    await jobs.start()
    try:
        async with asyncio.timeout(100):
            while True:  # another process finishes jobs too: poll the database
                if sum(job.finished for job in await jobs.list("work")) >= count:
                    break
                await asyncio.sleep(0.1)
    finally:
        await jobs.stop()
        await database.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])))
