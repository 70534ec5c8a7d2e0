"""SQL storage shared by the registry, providers and the server: SQLAlchemy async.

SQLite (the default, a file under the state directory) runs in WAL mode with ``synchronous=NORMAL``:
a commit is appended to the WAL without an fsync (the WAL is synced at checkpoints), so a commit
costs no disk flush. That is the usual server setting and keeps the promise that a crash never
corrupts state: a crash of the process loses nothing committed; a power loss or OS crash may lose
the last commits before the checkpoint, never the database's consistency. Any SQLAlchemy async
URL (e.g. Postgres through asyncpg) lets several replicas share one store.

``Database.run`` runs a short unit of work on a SQLite file in one hand-off to a worker thread
(a synchronous engine on the same file) rather than one aiosqlite hand-off per driver call.
``Database.execute`` runs one statement on a row by key (what stored objects do) on the event loop
itself, straight on the driver, while the file is free: a hand-off costs more (about 150 µs) than
such a statement (20-50 µs on the driver; SQLAlchemy's execution around it cost another 100 µs in
the server, measured). That connection never waits for a lock (``busy_timeout=0``) and never
checkpoints the WAL (a checkpoint syncs the files): a locked file sends the statement to a worker
thread, and every ``CHECKPOINT_EVERY`` writes on the loop a worker checkpoints the WAL in
``RESTART`` mode, statements going to the workers until it is done (a writer on the loop could
starve it), so the WAL starts over even under a steady stream of writes.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    Connection,
    Delete,
    Engine,
    Insert,
    MetaData,
    Select,
    Update,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolResetState

from .config import StoreConfig

__all__ = ["Database", "store_url"]

T = TypeVar("T")
Statement = Select[Any] | Insert | Update | Delete
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


def _loop_connection(path: str) -> sqlite3.Connection:
    """The event loop's connection: each statement its own transaction; it never waits for a lock,
    never checkpoints. Made by whichever thread runs the loop first, used by it alone."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    _sqlite_pragmas(connection, None)
    connection.execute("PRAGMA busy_timeout=0")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    return connection


def _locked(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


class _Compiled(NamedTuple):
    """A statement compiled once for the driver: its SQL, bound names in order, their values when
    not given (the literals of the statement) and type conversions."""

    statement: Statement  # held, so that its id is not reused while cached
    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    convert: dict[str, Callable[[Any], Any]]

    @classmethod
    def of(cls, statement: Statement, keys: list[str], dialect: Dialect) -> _Compiled:
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        if isinstance(statement, Select):
            for column in statement.selected_columns:
                if column.type.result_processor(dialect, None) is not None:
                    raise ValueError(f"Database.execute returns values as the driver reads them: {column}")
        convert = {n: b.type.bind_processor(dialect) for n, b in compiled.binds.items()}
        names = tuple(compiled.positiontup or ())
        return cls(
            statement,
            compiled.string,
            names,
            dict(compiled.params),
            {n: f for n, f in convert.items() if f is not None},
        )

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = ((n, params[n] if n in params else self.defaults[n]) for n in self.names)
        return tuple(self.convert[n](v) if n in self.convert else v for n, v in values)


def _rows(result: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in result] if result.returns_rows else []


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
        url = make_url(self.url)
        on_file = (
            self.is_sqlite and url.database not in (None, "", ":memory:") and "memory" not in str(url.query)
        )
        self._file = url.database if on_file else None
        self._sync = self._file_engine() if on_file else None
        self._threads: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None
        self._compiled: dict[tuple[int, tuple[str, ...]], _Compiled] = {}
        self._loop_writes = 0
        self._checkpoint: asyncio.Future[None] | None = None

    def _file_engine(self) -> Engine:
        """A synchronous engine on the same SQLite file, for ``run``."""
        engine = create_engine(make_url(self.url).set(drivername="sqlite"), pool_reset_on_return=None)
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
        return await self._in_thread(partial(_transaction, self._sync, work, write))

    async def execute(
        self, statement: Statement, params: Mapping[str, Any], *, write: bool = False
    ) -> list[tuple[Any, ...]]:
        """One statement on a row by key, ``params`` its bound values, in a transaction of its own
        (committed if ``write``): the rows it returns, as tuples of the values the driver reads
        (for tables of strings and numbers). On a SQLite file it runs on the event loop while the
        file is free (see the module's text), else like ``run``."""
        if self._file is not None and (self._checkpoint is None or self._checkpoint.done()):
            try:
                rows = self._on_loop(statement, params)
            except sqlite3.OperationalError as exc:
                if not _locked(exc):  # locked: nothing was done; a worker waits for the lock
                    raise OperationalError(str(statement), dict(params), exc) from exc
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(str(statement), dict(params), exc) from exc
            else:
                if write:
                    self._loop_writes += 1
                    if self._loop_writes % CHECKPOINT_EVERY == 0:  # meanwhile, writes wait in workers
                        assert self._sync is not None
                        self._checkpoint = self._in_thread(partial(_checkpoint, self._sync))
                        self._checkpoint.add_done_callback(_reported)
                return rows
        return await self.run(lambda conn: _rows(conn.execute(statement, params)), write=write)

    def _on_loop(self, statement: Statement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        assert self._file is not None and self._sync is not None
        key = (id(statement), tuple(params))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled.of(statement, list(params), self._sync.dialect)
        if self._connection is None:
            self._connection = _loop_connection(self._file)
        return self._connection.execute(compiled.sql, compiled.arguments(params)).fetchall()

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
        if self._sync is not None:
            self._sync.dispose()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
