"""A server process in miniature for the kill -9 test: runs job JOB_ID (kind ``steps``) from the
SQLite file DB until it has finished, then exits.

usage: job_worker.py DB LOG JOB_ID

Step ``i`` appends ``step i <pid>`` to LOG unless LOG has it already (steps are idempotent, so a
re-run skips what a killed process did); the job's completion appends ``done <pid>``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from stack_core.config import StoreConfig
from stack_core.jobs import JobHandle, JobService
from stack_core.storage import Database


def record(log: Path, line: str) -> None:
    with log.open("a") as out:
        out.write(f"{line} {os.getpid()}\n")


def recorded(log: Path, step: int) -> bool:
    return log.exists() and any(line.startswith(f"step {step} ") for line in log.read_text().splitlines())


async def main(db: Path, log: Path, job_id: str) -> None:
    async def steps(job: JobHandle) -> dict[str, int]:
        total = int(job.params["steps"])
        for step in range(total):
            if not recorded(log, step):
                record(log, f"step {step}")
                await asyncio.sleep(0.15)
            await job.progress(step + 1, total)
        record(log, "done")
        return {"steps": total}

    database = Database(StoreConfig(), db)
    jobs = JobService(database, lease_seconds=1.0, poll_interval=0.1)
    jobs.register("steps", steps)
    await jobs.start()
    try:
        async with asyncio.timeout(100):
            await jobs.wait(job_id)
    finally:
        await jobs.stop()
        await database.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))
