"""SQL storage shared by the registry, providers and the server: SQLAlchemy async.

SQLite (the default, a file under the state directory) runs in WAL mode with ``synchronous=NORMAL``:
a commit is appended to the WAL without an fsync (the WAL is synced at checkpoints), so a commit
costs no disk flush. That is the usual server setting and keeps the promise that a crash never
corrupts state: a crash of the process loses nothing committed; a power loss or OS crash may lose
the last commits before the checkpoint, never the database's consistency. Any SQLAlchemy async
URL (e.g. Postgres through asyncpg) lets several replicas share one store.

``Database.run`` runs a short unit of work on a SQLite file in one hand-off to a worker thread
(a synchronous engine on the same file) rather than one aiosqlite hand-off per driver call; a
``quick`` one (a statement on a row by key) runs on the event loop itself while the file is free,
as a hand-off costs more (about 150 µs) than such a statement (50-100 µs): that connection never
waits for a lock (``busy_timeout=0``) and never checkpoints the WAL (a checkpoint syncs the
files): a locked file sends the work to the worker thread, and every ``CHECKPOINT_EVERY`` quick
writes a worker checkpoints the WAL in ``RESTART`` mode, quick work going to the workers until it
is done (a writer on the loop could starve it), so the WAL starts over even under a steady stream
of writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import Pool, PoolResetState, StaticPool

from .config import StoreConfig

__all__ = ["Database", "store_url"]

T = TypeVar("T")
log = logging.getLogger("stack")
CHECKPOINT_EVERY = 200


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


def _inline_pragmas(dbapi_connection: Any, record: Any) -> None:
    """The event loop's connection: never waits for a lock, never checkpoints."""
    _sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _locked(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)


def _checkpoint(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)").all()


def _reported(checkpoint: asyncio.Future[None]) -> None:
    if not checkpoint.cancelled() and checkpoint.exception() is not None:
        log.warning("checkpointing the SQLite WAL failed: %s", checkpoint.exception())


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
        self._sync = self._file_engine(_sqlite_pragmas)
        self._inline = self._file_engine(_inline_pragmas, StaticPool)
        self._threads: ThreadPoolExecutor | None = None
        self._quick_writes = 0
        self._checkpoint: asyncio.Future[None] | None = None

    def _file_engine(
        self, pragmas: Callable[[Any, Any], None], pool: type[Pool] | None = None
    ) -> Engine | None:
        """A synchronous engine on the same SQLite file, for ``run`` (none for an in-memory one);
        ``StaticPool``: one connection, used by the event loop's thread only."""
        url = make_url(self.url)
        if not self.is_sqlite or url.database in (None, "", ":memory:") or "memory" in str(url.query):
            return None
        # the loop's connection: made by whichever thread runs the loop first, used by it alone
        options: dict[str, Any] = (
            {"poolclass": pool, "connect_args": {"check_same_thread": False}} if pool is not None else {}
        )
        engine = create_engine(url.set(drivername="sqlite"), pool_reset_on_return=None, **options)
        event.listen(engine, "connect", pragmas)
        event.listen(engine.pool, "reset", _sqlite_sync_reset)
        return engine

    async def run(self, work: Callable[[Connection], T], *, write: bool = False, quick: bool = False) -> T:
        """``work(connection)`` in one transaction, committed if ``write`` and ``work`` returns.

        On a SQLite file ``work`` runs whole on a worker thread, one hand-off from the event loop
        instead of one per driver call (aiosqlite's cursor, execute, fetch, close, commit): under
        load each hand-off waits for the scheduler; ``quick`` work runs on the event loop unless
        the file is locked (it may then run twice: it must touch nothing but the database).
        Elsewhere it runs on the async engine."""
        if self._sync is None:
            async with self.engine.begin() if write else self.engine.connect() as conn:
                return await conn.run_sync(work)
        if quick and self._inline is not None and (self._checkpoint is None or self._checkpoint.done()):
            try:
                done = _transaction(self._inline, work, write)
            except OperationalError as exc:  # rolled back; the worker waits for the lock
                if not _locked(exc):
                    raise
            else:
                if write:
                    self._quick_writes += 1
                    if self._quick_writes % CHECKPOINT_EVERY == 0:  # meanwhile, writes wait in workers
                        self._checkpoint = self._in_thread(partial(_checkpoint, self._sync))
                        self._checkpoint.add_done_callback(_reported)
                return done
        return await self._in_thread(partial(_transaction, self._sync, work, write))

    def _in_thread(self, call: Callable[[], T]) -> asyncio.Future[T]:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(4, thread_name_prefix="stack-sqlite")
        return asyncio.get_running_loop().run_in_executor(self._threads, call)

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
        for engine in (self._sync, self._inline):
            if engine is not None:
                engine.dispose()
