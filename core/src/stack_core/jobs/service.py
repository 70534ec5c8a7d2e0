"""The job service: submitting, claiming (a compare-and-set UPDATE), running, renewing leases,
cancelling and finishing jobs; see the package docstring."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..access import AccessPolicy, Action
from ..context import current_user
from ..errors import ConflictError, NotFoundError, PermissionDeniedError, PluginError, StackError
from ..storage import Database
from .model import Job, JobStatus, StopReason, job_from_row, jobs_table, new_job_id, secrets_table
from .secrets import Sealer

__all__ = ["JobHandle", "JobService"]

log = logging.getLogger("stack.jobs")


@dataclass(frozen=True)
class _Kind:
    runner: Runner
    concurrency: int
    lease_seconds: float
    max_attempts: int | None


Runner = Callable[["JobHandle"], Awaitable[Any]]
"""A job kind's runner: runs one job, returns its JSON result."""


class JobHandle:
    """What a runner receives: the job as claimed, and ``progress`` to report how far it got."""

    def __init__(self, service: JobService, job: Job, lease_seconds: float) -> None:
        self.job = job
        self.stop_reason: StopReason | None = None
        self.lease_seconds = lease_seconds
        self.renewed = time.time()
        self.ending = False
        self.task: asyncio.Task[None] | None = None
        self._service = service

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    async def secrets(self) -> dict[str, Any]:
        """The secrets the job was submitted with (``{}`` if none)."""
        return await self._service._secrets(self.id)

    async def progress(self, done: int, total: int | None = None) -> None:
        """Record that ``done`` of ``total`` steps are done, and renew the lease.

        Raises ``asyncio.CancelledError`` when the runner must stop: a cancel was requested (here
        or by another process) or another process holds the job now; see ``stop_reason``."""
        if self.stop_reason is None:  # shielded: a cancel must not cut a write off midway
            self.stop_reason = await asyncio.shield(self._service._report(self, done, total))
        if self.stop_reason is not None:
            raise asyncio.CancelledError(f"job {self.id}: {self.stop_reason}")


class JobService:
    """The stack's jobs, in ``database``; one per process (``Stack`` owns it, providers reach it
    as ``ProviderContext.jobs``). ``start`` begins claiming and running jobs of registered kinds."""

    def __init__(
        self,
        database: Database,
        policy: AccessPolicy | None = None,
        *,
        lease_seconds: float = 30.0,
        poll_interval: float = 1.0,
        sealer: Sealer | None = None,
    ) -> None:
        self.database, self.policy = database, policy or AccessPolicy()
        self.sealer = sealer or Sealer()
        self.lease_seconds, self.poll_interval = lease_seconds, poll_interval
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.table = jobs_table(database.table_name("stack_jobs"))
        self.secrets = secrets_table(self.table)
        self._kinds: dict[str, _Kind] = {}
        self._runs: dict[str, JobHandle] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False
        self._ready = False

    # -- declaring and submitting -------------------------------------------------------------

    def register(
        self,
        kind: str,
        runner: Runner,
        *,
        concurrency: int = 1,
        lease_seconds: float | None = None,
        max_attempts: int | None = None,
    ) -> None:
        """Run jobs of ``kind`` in this process with ``runner``, at most ``concurrency`` at a time
        (per process). ``lease_seconds`` (default: the service's) is how long a job stays held
        without news from its process. With ``max_attempts``, a job claimed more often than that
        without finishing (its process kept dying) fails with code ``too_many_attempts`` instead of
        running again; by default it is resumed however often that takes."""
        if kind in self._kinds:
            raise PluginError(f"job kind {kind!r} is registered twice")
        if concurrency < 1 or (max_attempts is not None and max_attempts < 1):
            raise PluginError(f"job kind {kind!r}: concurrency and max_attempts must be at least 1")
        self._kinds[kind] = _Kind(runner, concurrency, lease_seconds or self.lease_seconds, max_attempts)
        self._wake.set()

    async def submit(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        job_id: str | None = None,
        secrets: dict[str, Any] | None = None,
    ) -> Job:
        """Queue a job of ``kind`` owned by the current user; a process that registered ``kind``
        runs it. ``job_id`` (from ``new_job_id``) lets a caller record the id before it starts.
        ``secrets`` (credentials the runner needs) are sealed apart from the params, which anyone
        who may read the job sees, and deleted when it ends (``JobHandle.secrets``)."""
        await self._ensure()
        user, now = current_user.get(), time.time()
        job = Job(
            id=job_id or new_job_id(),
            kind=kind,
            owner=user,
            status="queued",
            params=params,
            done=0,
            total=None,
            result=None,
            error=None,
            attempts=0,
            cancel_requested=False,
            holder=None,
            lease_until=None,
            created_at=now,
            updated_at=now,
            finished_at=None,
        )
        values = {
            "id": job.id,
            "kind": kind,
            "owner": user.model_dump_json() if user else None,
            "status": "queued",
            "params": orjson.dumps(params).decode(),
            "done": 0,
            "attempts": 0,
            "cancel_requested": False,
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with self.database.engine.begin() as conn:
                await conn.execute(insert(self.table).values(values))
                if secrets:
                    sealed = self.sealer.seal(job.id, secrets)
                    await conn.execute(insert(self.secrets).values(job_id=job.id, sealed=sealed))
        except IntegrityError:
            raise ConflictError(f"A job with id '{job.id}' exists.", code="job_exists") from None
        self._wake.set()
        return job

    # -- reading and cancelling ---------------------------------------------------------------

    async def get(self, job_id: str, *, check_access: bool = True) -> Job:
        """A job the current user may read (else ``NotFoundError``). ``check_access=False`` is for
        a provider's own bookkeeping of jobs it submitted, never to answer a request directly."""
        return await self._get(job_id, "read" if check_access else None)

    async def list(self, kind: str | None = None) -> list[Job]:
        """The jobs (of ``kind``) the current user may read, oldest first."""
        await self._ensure()
        query = select(self.table).order_by(self.table.c.created_at)
        if kind is not None:
            query = query.where(self.table.c.kind == kind)
        async with self.database.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        user = current_user.get()
        return [job for job in map(job_from_row, rows) if self.policy.allows(user, "read", job)]

    async def cancel(self, job_id: str, *, check_access: bool = True) -> Job:
        """Cancel a job: a queued one ends ``cancelled`` at once; a running one is stopped (here,
        this waits for its runner to end; in another process, that process sees the request at its
        next progress report or lease renewal). A finished job is returned unchanged, and a runner
        that returns before it sees the cancel has succeeded."""
        job = await self._get(job_id, "update" if check_access else None)
        if job.finished:
            return job
        t, now = self.table, time.time()
        async with self.database.engine.begin() as conn:
            dropped = await conn.execute(
                update(t)
                .where((t.c.id == job_id) & (t.c.status == "queued"))
                .values(status="cancelled", cancel_requested=True, finished_at=now, updated_at=now)
            )
            if dropped.rowcount == 1:
                await conn.execute(delete(self.secrets).where(self.secrets.c.job_id == job_id))
            await conn.execute(
                update(t)
                .where((t.c.id == job_id) & (t.c.status == "running"))
                .values(cancel_requested=True, updated_at=now)
            )
        run = self._runs.get(job_id)
        if run is not None and run.task is not None:
            self._stop(run, "cancelled")
            await asyncio.wait({run.task})
        return await self._get(job_id, None)

    async def wait(self, job_id: str) -> Job:
        """The job once it has finished (polled; bound it with ``asyncio.timeout``)."""
        while True:
            job = await self.get(job_id)
            if job.finished:
                return job
            await asyncio.sleep(0.05)  # another process may run it: poll the database

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the table if needed and begin polling for jobs to run."""
        await self._ensure()
        if self._loop is None:
            self._loop = asyncio.create_task(self._poll(), name="stack-jobs")

    async def stop(self) -> None:
        """Stop polling, stop this process's runs and hand their jobs back for others to resume."""
        if self._loop is not None:  # not cancelled: a cancel cutting a write off leaves SQLite locked
            self._stopping = True
            self._wake.set()
            await self._loop
            self._loop, self._stopping = None, False
        runs = [r for r in self._runs.values() if r.task is not None]
        for run in runs:
            self._stop(run, "shutdown")
        if runs:
            await asyncio.wait({r.task for r in runs if r.task is not None})

    # -- internals ----------------------------------------------------------------------------

    async def _ensure(self) -> None:
        if not self._ready:
            await self.database.create_tables(self.table.metadata)
            self._ready = True

    async def _get(self, job_id: str, action: Action | None) -> Job:
        await self._ensure()
        async with self.database.engine.connect() as conn:
            row = (await conn.execute(select(self.table).where(self.table.c.id == job_id))).first()
        job = job_from_row(row) if row is not None else None
        user = current_user.get()
        if job is not None and (action is None or self.policy.allows(user, action, job)):
            return job
        if job is not None and action != "read" and self.policy.allows(user, "read", job):
            raise PermissionDeniedError(f"You may not cancel job '{job_id}'.")
        raise NotFoundError(f"No job with id '{job_id}'.", param="job_id", code="job_not_found")

    def _tick(self) -> float:
        return min([self.poll_interval, *(k.lease_seconds / 3 for k in self._kinds.values())])

    async def _poll(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._heartbeat()
                await self._claim()
            except Exception:
                log.exception("job poll failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._tick())

    def _held(self, job_id: str) -> Any:
        t = self.table
        return (t.c.id == job_id) & (t.c.holder == self.holder) & (t.c.status == "running")

    async def _heartbeat(self) -> None:
        """Stop local runs cancelled or taken over elsewhere; renew leases a third gone."""
        runs = [r for r in self._runs.values() if r.stop_reason is None and not r.ending]
        if not runs:
            return
        t = self.table
        query = select(t.c.id, t.c.holder, t.c.status, t.c.cancel_requested).where(
            t.c.id.in_([r.id for r in runs])
        )
        async with self.database.engine.connect() as conn:
            rows = {row.id: row for row in (await conn.execute(query)).all()}
        for run in runs:
            row = rows.get(run.id)
            if row is None or row.holder != self.holder or row.status != "running":
                self._stop(run, "lost")
            elif row.cancel_requested:
                self._stop(run, "cancelled")
            elif time.time() - run.renewed > run.lease_seconds / 3:
                now = time.time()
                async with self.database.engine.begin() as conn:
                    values = {"lease_until": now + run.lease_seconds}
                    result = await conn.execute(update(t).where(self._held(run.id)).values(values))
                run.renewed = now
                if result.rowcount != 1:
                    self._stop(run, "lost")

    async def _claim(self) -> None:
        t = self.table
        for kind, spec in self._kinds.items():
            free = spec.concurrency - sum(1 for r in self._runs.values() if r.job.kind == kind)
            if free <= 0:
                continue
            now = time.time()
            claimable = (t.c.kind == kind) & (
                (t.c.status == "queued") | ((t.c.status == "running") & (t.c.lease_until < now))
            )
            query = select(t.c.id).where(claimable & t.c.id.not_in(list(self._runs)))
            async with self.database.engine.connect() as conn:
                ids = (await conn.execute(query.order_by(t.c.created_at).limit(free))).scalars().all()
            for job_id in ids:
                values = {
                    "status": "running",
                    "holder": self.holder,
                    "lease_until": now + spec.lease_seconds,
                    "attempts": t.c.attempts + 1,
                    "updated_at": now,
                }
                async with self.database.engine.begin() as conn:
                    claimed = await conn.execute(
                        update(t).where((t.c.id == job_id) & claimable).values(values)
                    )
                    if claimed.rowcount != 1:
                        continue  # another process was first
                    row = (await conn.execute(select(t).where(t.c.id == job_id))).one()
                self._launch(job_from_row(row), spec)

    def _launch(self, job: Job, spec: _Kind) -> None:
        run = JobHandle(self, job, spec.lease_seconds)
        self._runs[job.id] = run
        run.task = asyncio.create_task(self._run(run, spec), name=f"job {job.kind} {job.id}")

    def _stop(self, run: JobHandle, reason: StopReason) -> None:
        """Cancel a local run once (never while it cleans up after an earlier stop or finishes)."""
        if run.stop_reason is None and not run.ending and run.task is not None:
            run.stop_reason = reason
            run.task.cancel()

    async def _run(self, run: JobHandle, spec: _Kind) -> None:
        current_user.set(run.job.owner)
        try:
            if spec.max_attempts is not None and run.job.attempts > spec.max_attempts:
                message = f"job was claimed {run.job.attempts} times without finishing"
                await self._finish(run, "failed", error={"code": "too_many_attempts", "message": message})
                return
            try:
                result = orjson.dumps(await spec.runner(run)).decode()
            except asyncio.CancelledError:
                run.ending = True
                reason = run.stop_reason or "shutdown"
                if reason == "cancelled":
                    await self._finish(run, "cancelled")
                elif reason == "shutdown":
                    await self._hand_back(run)
            except StackError as exc:
                error = {"code": exc.code or exc.error_type, "message": exc.message}
                await self._finish(run, "failed", error=error)
            except Exception as exc:
                log.exception("job %s (%s) failed", run.id, run.job.kind)
                await self._finish(run, "failed", error={"code": "server_error", "message": f"{exc!r}"})
            else:
                await self._finish(run, "succeeded", result=result)
        except Exception:  # the database failed us: the lease lapses and the job runs again
            log.exception("could not record the end of job %s", run.id)
        finally:
            self._runs.pop(run.id, None)
            self._wake.set()

    async def _secrets(self, job_id: str) -> dict[str, Any]:
        query = select(self.secrets.c.sealed).where(self.secrets.c.job_id == job_id)
        async with self.database.engine.connect() as conn:
            sealed = (await conn.execute(query)).scalar()
        return self.sealer.open(job_id, sealed) if sealed is not None else {}

    async def _report(self, run: JobHandle, done: int, total: int | None) -> StopReason | None:
        now = time.time()
        values = {"done": done, "total": total, "updated_at": now, "lease_until": now + run.lease_seconds}
        statement = update(self.table).where(self._held(run.id)).values(values)
        async with self.database.engine.begin() as conn:
            row = (await conn.execute(statement.returning(self.table.c.cancel_requested))).first()
        run.renewed = now
        return "lost" if row is None else "cancelled" if row.cancel_requested else None

    async def _finish(
        self,
        run: JobHandle,
        status: JobStatus,
        result: str | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        run.ending = True
        now = time.time()
        values = {
            "status": status,
            "result": result,
            "error": orjson.dumps(error).decode() if error else None,
            "holder": None,
            "lease_until": None,
            "finished_at": now,
            "updated_at": now,
        }
        async with self.database.engine.begin() as conn:
            ended = await conn.execute(update(self.table).where(self._held(run.id)).values(values))
            if ended.rowcount == 1:
                await conn.execute(delete(self.secrets).where(self.secrets.c.job_id == run.id))
        if ended.rowcount != 1:
            log.warning("job %s was taken over by another process; this run's end is dropped", run.id)

    async def _hand_back(self, run: JobHandle) -> None:
        """Let the next process resume the job at once; a handed-back run is not an attempt."""
        values = {"lease_until": time.time(), "attempts": self.table.c.attempts - 1}
        async with self.database.engine.begin() as conn:
            await conn.execute(update(self.table).where(self._held(run.id)).values(values))
