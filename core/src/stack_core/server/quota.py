"""Request quotas (``server.quota``): a counter per client and period, shared through SQL.

Health and version probes are not counted. The client is the authenticated principal, or the peer IP for anonymous requests. Every request
atomically increments its (client, window) row — ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` —
so concurrent requests, workers and replicas never race; requests arriving while a write is pending
share the next one (``Counter``). Over the limit: 429 with exactly
``{"error": {"message": "Quota exceeded"}}``, ``Retry-After`` and ``x-should-retry: false``.

On SQLite the upsert runs on a plain ``sqlite3`` connection in the event loop: a WAL-mode upsert
without fsync takes tens of microseconds, less than a hop to a worker thread. Other databases go
through SQLAlchemy's async engine.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Column, Integer, MetaData, String, Table, delete
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import QuotaConfig, StoreConfig
from ..errors import QuotaExceededError
from ..resources import User
from ..storage import Database
from .auth import PUBLIC_PATHS, route_path
from .errors import error_response

__all__ = ["QuotaMiddleware", "open_counter"]

PERIODS = {"minute": 60, "hour": 3600, "day": 86400}
TABLE = "stack_quota"


class CounterStore(Protocol):
    async def add(self, key: str, window: int, n: int) -> int:
        """Add ``n`` to ``key``'s count in ``window``; the new count."""

    async def close(self) -> None: ...


class Counter:
    """Exact per-key counts, written as a group: increments that arrive while a write is pending
    share the next one. The write adds their number and returns the new total, and each caller
    takes its own value below it, so every request still gets a distinct place in the count, across
    processes too (the store serialises writes). Under load one write serves several requests."""

    def __init__(self, store: CounterStore) -> None:
        self.store = store
        self.waiting: dict[tuple[str, int], list[asyncio.Future[int]]] = {}
        self.flush: asyncio.Task[None] | None = None
        self.writing: set[asyncio.Task[None]] = set()

    async def increment(self, key: str, window: int) -> int:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self.waiting.setdefault((key, window), []).append(future)
        if self.flush is None:
            self.flush = loop.create_task(self._flush())  # runs after the requests already ready
            self.writing.add(self.flush)
            self.flush.add_done_callback(self.writing.discard)
        return await future

    async def _flush(self) -> None:
        waiting, self.waiting, self.flush = self.waiting, {}, None
        for (key, window), futures in waiting.items():
            try:
                total = await self.store.add(key, window, len(futures))
            except Exception as exc:
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for place, future in enumerate(futures, start=total - len(futures) + 1):
                if not future.done():
                    future.set_result(place)

    async def close(self) -> None:
        """Close the store once the writes in flight are done (their requests get their counts)."""
        await asyncio.gather(*self.writing, return_exceptions=True)
        await self.store.close()


class SqliteCounter:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT NOT NULL, window INTEGER NOT NULL,"
            " count INTEGER NOT NULL, PRIMARY KEY (key, window))"
        )
        self.upsert = (
            f"INSERT INTO {TABLE} (key, window, count) VALUES (?, ?, ?) "
            f"ON CONFLICT (key, window) DO UPDATE SET count = count + excluded.count RETURNING count"
        )
        self.pruned = 0

    async def add(self, key: str, window: int, n: int) -> int:
        if window != self.pruned:
            self.db.execute(f"DELETE FROM {TABLE} WHERE window < ?", (window - 1,))
            self.pruned = window
        row = self.db.execute(self.upsert, (key, window, n)).fetchone()
        return int(row[0])

    async def close(self) -> None:
        self.db.close()


class SqlCounter:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.table = Table(
            database.table_name(TABLE),
            MetaData(),
            Column("key", String(512), primary_key=True),
            Column("window", Integer, primary_key=True),
            Column("count", Integer, nullable=False),
        )
        self.ready = False

    @functools.cached_property
    def _upsert(self) -> Any:
        """The dialect's INSERT (with ON CONFLICT), imported only for the database in use."""
        if self.database.is_sqlite:
            from sqlalchemy.dialects import sqlite

            return sqlite.insert
        from sqlalchemy.dialects import postgresql

        return postgresql.insert

    async def add(self, key: str, window: int, n: int) -> int:
        if not self.ready:
            await self.database.create_tables(self.table.metadata)
            self.ready = True
        statement = (
            self._upsert(self.table)
            .values(key=key, window=window, count=n)
            .on_conflict_do_update(index_elements=["key", "window"], set_={"count": self.table.c.count + n})
            .returning(self.table.c.count)
        )
        async with self.database.engine.begin() as conn:
            count = (await conn.execute(statement)).scalar_one()
            if count == n:
                await conn.execute(delete(self.table).where(self.table.c.window < window - 1))
        return int(count)

    async def close(self) -> None:
        await self.database.close()


def open_counter(store: StoreConfig, default_path: Path) -> Counter:
    if store.type == "sqlite":
        return Counter(SqliteCounter(Path(store.db_path).expanduser() if store.db_path else default_path))
    return Counter(SqlCounter(Database(store, default_path)))


class QuotaMiddleware:
    """Counts every request against its client's quota; runs after authentication."""

    def __init__(
        self,
        app: ASGIApp,
        config: QuotaConfig,
        holder: object,
        authenticated: bool,
        public: frozenset[str] = PUBLIC_PATHS,
    ) -> None:
        self.app, self.config, self.holder, self.authenticated = app, config, holder, authenticated
        self.public = public
        self.period = PERIODS[config.period]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) in self.public:
            await self.app(scope, receive, send)
            return
        user: User | None = scope["state"].get("user")
        if user is not None and self.authenticated:
            key, limit = f"user:{user.principal}", self.config.authenticated_max_requests
        else:
            key, limit = f"ip:{(scope.get('client') or ('unknown',))[0]}", self.config.anonymous_max_requests
        now = time.time()
        window = int(now // self.period)
        counter: Counter = self.holder.quota_counter  # type: ignore[attr-defined]
        if await counter.increment(key, window) > limit:
            retry_after = str(max(1, int((window + 1) * self.period - now)))
            error = QuotaExceededError(
                "Quota exceeded", headers={"retry-after": retry_after, "x-should-retry": "false"}
            )
            scope["state"].setdefault("log_fields", {})["rejected"] = "quota"
            await error_response(error, scope["state"].get("request_id", ""))(scope, receive, send)
            return
        await self.app(scope, receive, send)
