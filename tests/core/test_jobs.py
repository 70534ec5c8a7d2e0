"""Durable jobs over the real SQL store (SQLite): results and errors, cancel (here and from another
service), owners and the access policy, the per-kind concurrency bound, leases lapsing to another
service, hand-back on stop, a worker process killed with SIGKILL whose job the next one finishes,
and secrets sealed apart from the params."""

from __future__ import annotations

import asyncio
import base64
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from users import as_user

from stack_core.access import AccessPolicy
from stack_core.config import StoreConfig
from stack_core.context import current_user
from stack_core.errors import BadRequestError, ConfigError, NotFoundError, PermissionDeniedError
from stack_core.jobs import Job, JobHandle, JobService
from stack_core.jobs.secrets import KEY_VARIABLE, Sealer, SecretsUnreadableError
from stack_core.resources import User
from stack_core.storage import Database

ALICE = User(principal="alice", attributes={"teams": ["ml"]})
BOB = User(principal="bob", attributes={"teams": ["web"]})
CAROL = User(principal="carol", attributes={"teams": ["ml"]})
WORKER = Path(__file__).parents[1] / "support" / "job_worker.py"


async def finished(jobs: JobService, job_id: str) -> Job:
    async with asyncio.timeout(30):
        return await jobs.wait(job_id)


async def until(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"not true after {within}s"
        await asyncio.sleep(0.05)


async def test_a_job_reports_progress_and_returns_its_result_as_its_owner(jobs: JobService) -> None:
    ran_as = []

    async def add(job: JobHandle) -> dict[str, int]:
        for step in range(3):
            await job.progress(step + 1, 3)
        ran_as.append(current_user.get())
        return {"sum": sum(job.params["numbers"])}

    jobs.register("add", add)
    await jobs.start()
    with as_user(ALICE):
        job = await jobs.submit("add", {"numbers": [1, 2, 3]})
        assert (job.status, job.owner) == ("queued", ALICE)
        done = await finished(jobs, job.id)
    assert (done.status, done.result, done.attempts) == ("succeeded", {"sum": 6}, 1)
    assert (done.done, done.total, done.holder, ran_as) == (3, 3, None, [ALICE])


async def test_a_failing_runner_records_its_error(jobs: JobService) -> None:
    async def refused(job: JobHandle) -> None:
        raise BadRequestError("no such model", code="model_not_found")

    async def crashed(job: JobHandle) -> None:
        raise RuntimeError("boom")

    jobs.register("refused", refused)
    jobs.register("crashed", crashed)
    await jobs.start()
    one = await finished(jobs, (await jobs.submit("refused", {})).id)
    two = await finished(jobs, (await jobs.submit("crashed", {})).id)
    assert (one.status, one.error) == ("failed", {"code": "model_not_found", "message": "no such model"})
    assert two.status == "failed" and two.error is not None and two.error["code"] == "server_error"
    assert "boom" in two.error["message"]


async def test_cancel_stops_a_running_job_here_or_from_another_service(
    jobs: JobService, database: Database
) -> None:
    stopped: list[str | None] = []

    async def forever(job: JobHandle) -> None:
        try:
            while True:
                await job.progress(0)
                await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            stopped.append(job.stop_reason)
            raise

    jobs.register("forever", forever, concurrency=2)
    await jobs.start()
    here, there = await jobs.submit("forever", {}), await jobs.submit("forever", {})

    async def both_running() -> bool:
        return [(await jobs.get(j.id)).status for j in (here, there)] == ["running"] * 2

    await until(both_running)
    assert (await jobs.cancel(here.id)).status == "cancelled"
    assert (await JobService(database).cancel(there.id)).cancel_requested  # seen at the next progress
    assert (await finished(jobs, there.id)).status == "cancelled"
    assert stopped == ["cancelled", "cancelled"]
    queued = await jobs.submit("nobody-runs-this", {})
    assert (await jobs.cancel(queued.id)).status == "cancelled"


async def test_only_those_the_policy_allows_see_or_cancel_a_job(database: Database) -> None:
    rules: list[dict[str, object]] = [
        {"permit": {"actions": ["create", "read", "update"]}, "when": "user is owner"},
        {"permit": {"actions": ["read"]}, "when": "user in owners teams"},
    ]
    jobs = JobService(database, AccessPolicy.from_config(rules))
    with as_user(ALICE):
        job = await jobs.submit("idle", {"n": 1})
    with as_user(BOB):
        assert await jobs.list() == []
        for attempt in (jobs.get, jobs.cancel):
            with pytest.raises(NotFoundError):
                await attempt(job.id)
    with as_user(CAROL):
        assert [j.id for j in await jobs.list(kind="idle")] == [job.id] and await jobs.list(kind="x") == []
        assert (await jobs.get(job.id)).owner == ALICE
        with pytest.raises(PermissionDeniedError):
            await jobs.cancel(job.id)
    with as_user(ALICE):
        assert (await jobs.cancel(job.id)).status == "cancelled"


async def test_a_kind_runs_at_most_its_concurrency_at_once(jobs: JobService) -> None:
    running: set[str] = set()
    peak, release = 0, asyncio.Event()

    async def gated(job: JobHandle) -> None:
        nonlocal peak
        running.add(job.id)
        peak = max(peak, len(running))
        await release.wait()
        running.discard(job.id)

    jobs.register("gated", gated, concurrency=2)
    await jobs.start()
    submitted = [await jobs.submit("gated", {}) for _ in range(5)]

    async def two_running() -> bool:
        return len(running) == 2

    await until(two_running)
    await asyncio.sleep(0.3)  # a few polls: no third one starts
    assert peak == 2
    release.set()
    assert {(await finished(jobs, j.id)).status for j in submitted} == {"succeeded"}
    assert peak == 2


async def test_a_lapsed_lease_is_claimed_by_another_service_and_a_held_one_is_not(
    jobs: JobService,
) -> None:
    runs: list[int] = []

    async def record(job: JobHandle) -> None:
        runs.append(job.job.attempts)

    job = await jobs.submit("work", {})
    held = {"status": "running", "holder": "other-host:1:dead", "attempts": 1}
    async with jobs.database.engine.begin() as conn:  # as another process left it
        await conn.execute(
            update(jobs.table)
            .where(jobs.table.c.id == job.id)
            .values({**held, "lease_until": time.time() + 60})
        )
    jobs.register("work", record)
    await jobs.start()
    await asyncio.sleep(0.3)
    assert runs == [] and (await jobs.get(job.id)).holder == "other-host:1:dead"
    async with jobs.database.engine.begin() as conn:  # that process died: its lease lapses
        await conn.execute(
            update(jobs.table).where(jobs.table.c.id == job.id).values(lease_until=time.time())
        )
    done = await finished(jobs, job.id)
    assert (done.status, done.attempts, runs) == ("succeeded", 2, [2])


async def test_a_job_whose_processes_keep_dying_fails_after_max_attempts(jobs: JobService) -> None:
    runs: list[str] = []

    async def record(job: JobHandle) -> None:
        runs.append(job.id)

    job = await jobs.submit("poison", {})
    died = {"status": "running", "holder": "other-host:1:dead", "attempts": 2, "lease_until": 0.0}
    async with jobs.database.engine.begin() as conn:
        await conn.execute(update(jobs.table).where(jobs.table.c.id == job.id).values(died))
    jobs.register("poison", record, max_attempts=2)
    await jobs.start()
    done = await finished(jobs, job.id)
    assert (done.status, done.attempts, runs) == ("failed", 3, [])
    assert done.error is not None and done.error["code"] == "too_many_attempts"


async def test_a_stopping_service_hands_its_jobs_back_for_the_next_to_resume(database: Database) -> None:
    runs: list[tuple[str, int]] = []

    def runner(name: str) -> Any:
        async def run(job: JobHandle) -> str:
            runs.append((name, job.job.attempts))
            for step in range(1000):
                await job.progress(step)
                await asyncio.sleep(0.01 if name == "first" else 0)
            return name

        return run

    first = JobService(database, lease_seconds=600, poll_interval=0.05)
    first.register("long", runner("first"))
    await first.start()
    job = await first.submit("long", {})

    async def started() -> bool:
        return (await first.get(job.id)).done > 0

    await until(started)
    await first.stop()
    handed: Job = await first.get(job.id)
    assert handed.status == "running" and (handed.lease_until or 0) <= time.time()
    second = JobService(database, lease_seconds=600, poll_interval=0.05)
    second.register("long", runner("second"))
    await second.start()
    try:
        done = await finished(second, job.id)
    finally:
        await second.stop()
    assert (done.status, done.result, done.attempts) == ("succeeded", "second", 1)
    assert runs == [("first", 1), ("second", 1)]


def test_a_job_whose_process_was_killed_is_finished_once_by_the_next(tmp_path: Path) -> None:
    db, log = tmp_path / "jobs.db", tmp_path / "effects.log"

    async def submit() -> str:
        database = Database(StoreConfig(), db)
        try:
            return (await JobService(database).submit("steps", {"steps": 20})).id
        finally:
            await database.close()

    async def final() -> Job:
        database = Database(StoreConfig(), db)
        try:
            return await JobService(database).get(job_id)
        finally:
            await database.close()

    def steps_recorded() -> int:
        return log.read_text().count("step") if log.exists() else 0

    job_id = asyncio.run(submit())
    first = subprocess.Popen([sys.executable, str(WORKER), str(db), str(log), job_id])
    try:
        deadline = time.monotonic() + 60
        while steps_recorded() < 2:
            assert time.monotonic() < deadline and first.poll() is None, "the first worker made no progress"
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert asyncio.run(final()).status == "running"
    second = subprocess.run([sys.executable, str(WORKER), str(db), str(log), job_id], timeout=120)
    assert second.returncode == 0
    job, effects = asyncio.run(final()), [line.split() for line in log.read_text().splitlines()]
    assert (job.status, job.attempts, job.result) == ("succeeded", 2, {"steps": 20})
    assert [int(e[1]) for e in effects if e[0] == "step"] == list(range(20))  # each step once, in order
    assert [e[0] for e in effects].count("done") == 1 and effects[-1][0] == "done"
    assert effects[0][-1] == str(first.pid) != effects[-1][-1]  # begun by the first, ended by the next


async def test_secrets_reach_the_runner_sealed_apart_from_the_params_and_end_with_the_job(
    database: Database, tmp_path: Path
) -> None:
    """Secrets are never in the params anyone who may read the job sees, are stored sealed (not
    in clear), open in the runner, and are deleted when the job ends or is cancelled queued."""
    seen: list[dict[str, Any]] = []

    async def call(job: JobHandle) -> None:
        seen.append(await job.secrets())

    jobs = JobService(database, poll_interval=0.05, sealer=Sealer(tmp_path / "secrets.key"))
    jobs.register("call", call)
    with as_user(ALICE):
        queued = await jobs.submit("call", {"url": "u"}, secrets={"token": "s3cret-token"})
        never = await jobs.submit("call", {"url": "v"}, secrets={"token": "other-token"})
        await jobs.cancel(never.id)
    stored = await database.run(lambda conn: conn.exec_driver_sql("SELECT * FROM stack_jobs_secrets").all())
    assert [row[0] for row in stored] == [queued.id] and "s3cret" not in str(stored)
    await jobs.start()
    try:
        with as_user(ALICE):
            done = await finished(jobs, queued.id)
    finally:
        await jobs.stop()
    assert done.status == "succeeded" and done.params == {"url": "u"} and seen == [{"token": "s3cret-token"}]
    assert (
        await database.run(lambda conn: conn.exec_driver_sql("SELECT * FROM stack_jobs_secrets").all()) == []
    )
    assert (tmp_path / "secrets.key").stat().st_mode & 0o777 == 0o600


def test_sealed_secrets_open_with_their_key_and_for_their_job_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    sealer = Sealer(tmp_path / "secrets.key")
    sealed = sealer.seal("job_1", {"token": "t"})
    assert Sealer(tmp_path / "secrets.key").open("job_1", sealed) == {"token": "t"}  # the same key file
    for other, job_id in ((Sealer(tmp_path / "elsewhere.key"), "job_1"), (sealer, "job_2")):
        with pytest.raises(SecretsUnreadableError, match=KEY_VARIABLE) as refused:
            other.open(job_id, sealed)
        assert refused.value.code == "secrets_unreadable"
    monkeypatch.setenv(KEY_VARIABLE, base64.urlsafe_b64encode(b"k" * 32).decode())
    shared = Sealer(tmp_path / "unused.key").seal("job_1", {"token": "t"})
    assert Sealer(None).open("job_1", shared) == {"token": "t"} and not (tmp_path / "unused.key").exists()
    monkeypatch.setenv(KEY_VARIABLE, "too-short")
    with pytest.raises(ConfigError, match="32 bytes"):
        Sealer(None).seal("job_1", {})
