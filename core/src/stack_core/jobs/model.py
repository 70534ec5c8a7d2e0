"""What a job is: its row in the ``stack_jobs`` table and the ``Job`` read from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal, cast

import orjson
from sqlalchemy import Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

from ..resources import User

__all__ = ["FINISHED", "Job", "JobStatus", "StopReason", "job_from_row", "jobs_table", "new_job_id"]

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
StopReason = Literal["cancelled", "shutdown", "lost"]
"""Why a runner was stopped: cancel requested; this process is stopping (the job will resume
elsewhere); another process holds the job now (its lease lapsed)."""
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
"""Runs one job; returns its JSON-serialisable result, or raises (a ``StackError``'s ``code`` and
``message`` become the job's error)."""


def new_job_id() -> str:
    """A fresh job id, for callers that record it before ``submit``."""
    return f"job_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Job:
    """A job as stored. ``done``/``total`` is the runner's last progress report; ``error`` is
    ``{"code", "message"}`` when it failed; ``holder``/``lease_until`` say which process runs it."""

    id: str
    kind: str
    owner: User | None
    status: JobStatus
    params: dict[str, Any]
    done: int
    total: int | None
    result: Any
    error: dict[str, str] | None
    attempts: int
    cancel_requested: bool
    holder: str | None
    lease_until: float | None
    created_at: float
    updated_at: float
    finished_at: float | None

    @property
    def identifier(self) -> str:
        return self.id

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def type(self) -> str:
        return "job"


def jobs_table(name: str) -> Table:
    """The jobs table, named ``name`` (the store's namespace applied)."""
    return Table(
        name,
        MetaData(),
        Column("id", String(64), primary_key=True),
        Column("kind", String(128), nullable=False),
        Column("owner", Text, nullable=True),
        Column("status", String(16), nullable=False),
        Column("params", Text, nullable=False),
        Column("done", Integer, nullable=False, default=0),
        Column("total", Integer, nullable=True),
        Column("result", Text, nullable=True),
        Column("error", Text, nullable=True),
        Column("holder", String(256), nullable=True),
        Column("lease_until", Float, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("cancel_requested", Boolean, nullable=False, default=False),
        Column("created_at", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
        Column("finished_at", Float, nullable=True),
        Index(f"ix_{name}_claim", "kind", "status"),
    )


def secrets_table(jobs: Table) -> Table:
    """Sealed secrets of jobs that have any (``jobs.secrets``), beside the jobs table."""
    return Table(
        f"{jobs.name}_secrets",
        jobs.metadata,
        Column("job_id", String(64), primary_key=True),
        Column("sealed", Text, nullable=False),
    )


def job_from_row(row: Any) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        owner=User.model_validate_json(row.owner) if row.owner else None,
        status=cast(JobStatus, row.status),
        params=orjson.loads(row.params),
        done=row.done,
        total=row.total,
        result=orjson.loads(row.result) if row.result is not None else None,
        error=orjson.loads(row.error) if row.error else None,
        attempts=row.attempts,
        cancel_requested=bool(row.cancel_requested),
        holder=row.holder,
        lease_until=row.lease_until,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )
