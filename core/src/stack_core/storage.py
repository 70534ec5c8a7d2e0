"""SQL storage shared by the registry, providers and the server: SQLAlchemy async.

SQLite (the default, a file under the state directory) runs in WAL mode with ``synchronous=NORMAL``:
a commit is appended to the WAL without an fsync (the WAL is synced at checkpoints), so a commit
costs no disk flush. That is the usual server setting and keeps the promise that a crash never
corrupts state: a crash of the process loses nothing committed; a power loss or OS crash may lose
the last commits before the checkpoint, never the database's consistency. Any SQLAlchemy async
URL (e.g. Postgres through asyncpg) lets several replicas share one store.

``Database.run`` runs a short unit of work on a SQLite file in one hand-off to a worker thread
(a synchronous engine on the same file) rather than one aiosqlite hand-off per driver call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolResetState

from .config import StoreConfig

__all__ = ["Database", "store_url"]

T = TypeVar("T")


def store_url(store: StoreConfig, default_path: Path) -> str:
    """The SQLAlchemy URL for a store config."""
    if store.type == "sql":
        if store.url is None:
            raise ValueError("store type 'sql' needs a url")
        return store.url.get_secret_value()
    if store.type == "postgres":
        password = store.password.get_secret_value() if store.password else ""
        auth = f"{store.user}:{password}@" if password else f"{store.user}@"
        return f"postgresql+asyncpg://{auth}{store.host}:{store.port}/{store.db}"
    path = Path(store.db_path).expanduser() if store.db_path else default_path
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{path}"


def _sqlite_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    """Roll back a connection given back to the pool only when a transaction is open. SQLite's
    driver opens none for reads, and a committed write has closed its own: an unconditional
    rollback was a round trip to the driver's thread on every checkout."""
    if not state.terminate_only and dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


def _sqlite_sync_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    if not state.terminate_only and dbapi_connection.in_transaction:
        dbapi_connection.rollback()


def _transaction(engine: Engine, work: Callable[[Connection], T], write: bool) -> T:
    with engine.begin() if write else engine.connect() as conn:
        return work(conn)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """One async engine per store; ``table_name`` applies the store's namespace prefix."""

    def __init__(self, store: StoreConfig, default_path: Path) -> None:
        self.store = store
        self.url = store_url(store, default_path)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = (
            {"pool_reset_on_return": None}
            if self.is_sqlite
            else {"pool_size": store.pool_size, "pool_pre_ping": True}
        )
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine.pool, "reset", _sqlite_reset)
        self._sync = self._file_engine()
        self._threads: ThreadPoolExecutor | None = None

    def _file_engine(self) -> Engine | None:
        """A synchronous engine on the same SQLite file, for ``run`` (none for an in-memory one)."""
        url = make_url(self.url)
        if not self.is_sqlite or url.database in (None, "", ":memory:") or "memory" in str(url.query):
            return None
        engine = create_engine(url.set(drivername="sqlite"), pool_reset_on_return=None)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine.pool, "reset", _sqlite_sync_reset)
        return engine

    async def run(self, work: Callable[[Connection], T], *, write: bool = False) -> T:
        """``work(connection)`` in one transaction, committed if ``write`` and ``work`` returns.

        On a SQLite file ``work`` runs whole on a worker thread, one hand-off from the event loop
        instead of one per driver call (aiosqlite's cursor, execute, fetch, close, commit): under
        load each hand-off waits for the scheduler. Elsewhere it runs on the async engine."""
        if self._sync is None:
            async with self.engine.begin() if write else self.engine.connect() as conn:
                return await conn.run_sync(work)
        if self._threads is None:
            self._threads = ThreadPoolExecutor(4, thread_name_prefix="stack-sqlite")
        call = partial(_transaction, self._sync, work, write)
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    def table_name(self, name: str) -> str:
        return f"{self.store.namespace}_{name}" if self.store.namespace else name

    async def create_tables(self, metadata: MetaData) -> None:
        """Create missing tables; tolerates another process creating them at the same moment."""
        for attempt in range(3):
            try:
                async with self.engine.begin() as conn:
                    await conn.run_sync(metadata.create_all)
                return
            except (OperationalError, ProgrammingError, IntegrityError):
                if attempt == 2:
                    raise

    async def close(self) -> None:
        await self.engine.dispose()
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None
        if self._sync is not None:
            self._sync.dispose()
