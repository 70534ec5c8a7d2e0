"""Spans and events in SQL, written off the request path.

Ending a span only appends its record to a bounded queue (a full queue drops the span and
counts it); a background task turns the queue into rows and writes them in one batch every
``flush_interval``, and prunes by age and count. Each span row records its owner, the user of the
request that produced it, for the queries' access checks. Tables live in the stack's
database (or the sink's own SQLite file), prefixed by its namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
)

from stack_core import Database

from .config import SqliteTelemetryConfig
from .spans import KIND_NAMES, SpanRecord

__all__ = ["SpanStore", "span_row"]

log = logging.getLogger("stack.telemetry")
PRUNE_EVERY = 60.0


class SpanStore:
    """The ``telemetry_spans`` and ``telemetry_events`` tables and the batched span writes."""

    def __init__(self, database: Database, config: SqliteTelemetryConfig) -> None:
        self.database, self.config = database, config
        metadata = MetaData()
        self.spans = Table(
            database.table_name("telemetry_spans"),
            metadata,
            Column("span_id", String(32), primary_key=True),
            Column("trace_id", String(32), nullable=False, index=True),
            Column("parent_span_id", String(32)),
            Column("root", Boolean, nullable=False),
            Column("name", Text, nullable=False),
            Column("start_time", Float, nullable=False, index=True),
            Column("end_time", Float),
            Column("status", String(8)),
            Column("kind", String(16)),
            Column("attributes", Text, nullable=False),
            Column("owner", Text),
        )
        self.events = Table(
            database.table_name("telemetry_events"),
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("type", String(32), nullable=False),
            Column("name", Text),
            Column("trace_id", String(64)),
            Column("span_id", String(64)),
            Column("timestamp", Float, nullable=False, index=True),
            Column("value", Float),
            Column("unit", String(32)),
            Column("body", Text, nullable=False),
            Column("expires_at", Float, nullable=False, index=True),
            Column("owner", Text),
        )
        self.pending: deque[SpanRecord] = deque()
        self._task: asyncio.Task[None] | None = None
        self._pruned = 0.0

    async def open(self) -> None:
        await self.database.create_tables(self.spans.metadata)
        self._task = asyncio.create_task(self._run(), name="stack-telemetry-writer")

    def add(self, span: SpanRecord) -> bool:
        """Queue one span; False (dropped) when the queue is full."""
        if len(self.pending) >= self.config.queue_size:
            return False
        self.pending.append(span)
        return True

    async def flush(self) -> None:
        """Write every queued span now."""
        if not self.pending:
            return
        owners: dict[int, str | None] = {}
        rows = [span_row(self.pending.popleft(), owners) for _ in range(len(self.pending))]
        async with self.database.engine.begin() as conn:
            await conn.execute(insert(self.spans), rows)

    async def prune(self, now: float) -> None:
        """Drop spans and events past their age, and the oldest spans beyond ``max_spans``."""
        cutoff = now - self.config.retention_days * 86_400
        async with self.database.engine.begin() as conn:
            await conn.execute(delete(self.spans).where(self.spans.c.start_time < cutoff))
            await conn.execute(delete(self.events).where(self.events.c.expires_at < now))
            count = (await conn.execute(select(func.count()).select_from(self.spans))).scalar_one()
            if count > self.config.max_spans:
                oldest = (
                    select(self.spans.c.start_time)
                    .order_by(self.spans.c.start_time.desc())
                    .offset(self.config.max_spans)
                    .limit(1)
                    .scalar_subquery()
                )
                await conn.execute(delete(self.spans).where(self.spans.c.start_time <= oldest))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.config.flush_interval)
            try:
                await self.flush()
                now = time.time()
                if now - self._pruned > PRUNE_EVERY:
                    self._pruned = now
                    await self.prune(now)
            except Exception:  # a bad batch must not stop the writer
                log.exception("telemetry: writing spans failed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()


def span_row(span: SpanRecord, owners: dict[int, str | None]) -> dict[str, Any]:
    """A span's row; ``owners`` remembers each owner's JSON by object (a request's spans share one)."""
    user = span.owner
    owner = owners.get(id(user), "")
    if owner == "":
        owner = owners[id(user)] = user.model_dump_json() if user is not None else None
    return {
        "span_id": f"{span.span_id:016x}",
        "trace_id": f"{span.trace_id:032x}",
        "parent_span_id": f"{span.parent_id:016x}" if span.parent_id else None,
        "root": not span.parent_id or span.remote_parent,
        "name": span.name,
        "start_time": span.start_ns / 1e9,
        "end_time": span.end_ns / 1e9 if span.end_ns else None,
        "status": "error" if span.error is not None else "ok",
        "kind": KIND_NAMES.get(span.kind, "internal"),
        "attributes": orjson.dumps(span.attributes).decode(),
        "owner": owner,
    }
