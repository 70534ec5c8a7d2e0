"""The persistent resource registry.

Rows live in one SQL table (``stack_resources``), written in a transaction per change; reads are
served from an in-memory index loaded at start and updated on every write, so the request path never
touches the database. Several processes (workers, replicas) sharing the store stay coherent
through a version counter bumped in every write transaction: ``sync()`` (polled every second, and
on any lookup miss) reloads when another process has written. ``source`` records where a resource came from (``config``, ``api`` or
``provider``) so config-declared resources can be reconciled on restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from pydantic import ValidationError
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from .resources import Resource
from .storage import Database

__all__ = ["ResourceRegistry"]

log = logging.getLogger("stack.registry")


class ResourceRegistry:
    """Registered resources by type and identifier, persisted in ``database``."""

    def __init__(self, database: Database, types: Mapping[str, type[Resource]]) -> None:
        self.database = database
        self.types = dict(types)
        self.metadata = MetaData()
        self.table = Table(
            database.table_name("stack_resources"),
            self.metadata,
            Column("type", String(64), primary_key=True),
            Column("identifier", String(512), primary_key=True),
            Column("provider_id", String(256), nullable=False),
            Column("source", String(16), nullable=False),
            Column("body", Text, nullable=False),
            Column("updated_at", Float, nullable=False),
        )
        self.version_table = Table(
            database.table_name("stack_registry_version"),
            self.metadata,
            Column("id", Integer, primary_key=True),
            Column("version", Integer, nullable=False),
        )
        self.version = -1
        self._index: dict[str, dict[str, Resource]] = {t: {} for t in self.types}
        self._sources: dict[tuple[str, str], str] = {}

    async def open(self) -> None:
        await self.database.create_tables(self.metadata)
        try:
            async with self.database.engine.begin() as conn:
                if (await conn.execute(select(self.version_table.c.version))).first() is None:
                    await conn.execute(insert(self.version_table).values(id=1, version=0))
        except IntegrityError:
            pass  # another worker created the row first
        await self.reload()

    async def _stored_version(self, conn: AsyncConnection) -> int:
        return int((await conn.execute(select(self.version_table.c.version))).scalar_one())

    async def sync(self) -> bool:
        """Reload if another process wrote since our last read; True if it did."""
        async with self.database.engine.connect() as conn:
            if await self._stored_version(conn) == self.version:
                return False
        await self.reload()
        return True

    async def _bump(self, conn: AsyncConnection) -> None:
        """Count a write. If another process wrote since our last read, our index misses its
        change: mark it stale so the next ``sync`` reloads."""
        column = self.version_table.c.version
        result = await conn.execute(update(self.version_table).values(version=column + 1).returning(column))
        stored = int(result.scalar_one())
        self.version = stored if stored == self.version + 1 else -1

    async def reload(self) -> None:
        """Re-read every row (another replica may have written)."""
        index: dict[str, dict[str, Resource]] = {t: {} for t in self.types}
        sources: dict[tuple[str, str], str] = {}
        async with self.database.engine.connect() as conn:
            version = await self._stored_version(conn)
            rows = (await conn.execute(select(self.table))).all()
        for row in rows:
            cls = self.types.get(row.type)
            if cls is None:
                continue
            try:
                index[row.type][row.identifier] = cls.model_validate_json(row.body)
            except ValidationError as exc:
                log.error("registry row %s/%s is unreadable, ignored: %s", row.type, row.identifier, exc)
                continue
            sources[(row.type, row.identifier)] = row.source
        self._index, self._sources, self.version = index, sources, version

    def get(self, type: str, identifier: str) -> Resource | None:
        return self._index.get(type, {}).get(identifier)

    async def lookup(self, type: str, identifier: str) -> Resource | None:
        """``get``, re-syncing with the store on a miss (another worker may just have written)."""
        found = self._index.get(type, {}).get(identifier)
        if found is None and await self.sync():
            found = self._index.get(type, {}).get(identifier)
        return found

    def list(self, type: str) -> list[Resource]:
        return list(self._index.get(type, {}).values())

    def source(self, type: str, identifier: str) -> str | None:
        return self._sources.get((type, identifier))

    def _row(self, resource: Resource, source: str) -> Insert:
        return insert(self.table).values(
            type=resource.type,
            identifier=resource.identifier,
            provider_id=resource.provider_id,
            source=source,
            body=resource.model_dump_json(),
            updated_at=time.time(),
        )

    def _remember(self, resource: Resource, source: str) -> None:
        self._index.setdefault(resource.type, {})[resource.identifier] = resource
        self._sources[(resource.type, resource.identifier)] = source

    async def put(self, resource: Resource, source: str) -> None:
        """Write ``resource``, replacing any row with its identifier."""
        key = (self.table.c.type == resource.type) & (self.table.c.identifier == resource.identifier)
        for attempt in range(2):
            try:
                async with self.database.engine.begin() as conn:
                    await conn.execute(delete(self.table).where(key))
                    await conn.execute(self._row(resource, source))
                    await self._bump(conn)
                break
            except IntegrityError:  # another process inserted it between our delete and insert
                if attempt:
                    raise
        self._remember(resource, source)

    async def create(self, resource: Resource, source: str) -> bool:
        """Write ``resource`` unless its identifier is taken (a compare-and-set on the primary key,
        atomic across processes); False, with the index re-synced, if it was."""
        try:
            async with self.database.engine.begin() as conn:
                await conn.execute(self._row(resource, source))
                await self._bump(conn)
        except IntegrityError:
            await self.reload()
            return False
        self._remember(resource, source)
        return True

    async def delete(self, type: str, identifier: str) -> None:
        key = (self.table.c.type == type) & (self.table.c.identifier == identifier)
        async with self.database.engine.begin() as conn:
            await conn.execute(delete(self.table).where(key))
            await self._bump(conn)
        self._index.get(type, {}).pop(identifier, None)
        self._sources.pop((type, identifier), None)
