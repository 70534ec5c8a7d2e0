"""SQL storage shared by the registry, providers and the server: SQLAlchemy async.

SQLite (the default, a file under the state directory) runs in WAL mode with ``synchronous=NORMAL``
so a crash mid-write never corrupts it; any SQLAlchemy async URL (e.g. Postgres through asyncpg) lets
several replicas share one store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolResetState

from .config import StoreConfig

__all__ = ["Database", "store_url"]


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
