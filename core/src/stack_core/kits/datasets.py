"""Building blocks of DatasetIO providers: the current version of a dataset that was appended to.

A provider that cannot append to a dataset's source in place writes a new version (a file, a
directory) holding every row so far and the new ones, then makes it current here with a
compare-and-set on the version number: of two concurrent appends one wins, the other rebuilds on
top of the winner's version, so no row is lost. Versions are never rewritten.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..storage import Database

__all__ = ["DatasetVersions"]


class DatasetVersions:
    """The table ``<name>`` of dataset versions in ``database``; ``open()`` it before use."""

    def __init__(self, database: Database, name: str) -> None:
        self.database = database
        self.table = Table(
            database.table_name(name),
            MetaData(),
            Column("dataset", String(255), primary_key=True),
            Column("version", Integer, nullable=False),
            Column("location", Text, nullable=False),
        )

    async def open(self) -> None:
        await self.database.create_tables(self.table.metadata)

    async def current(self, dataset: str) -> tuple[int, str] | None:
        """The dataset's current version: (number, location), or None if never appended to."""
        t = self.table
        async with self.database.engine.connect() as conn:
            row = (
                await conn.execute(select(t.c.version, t.c.location).where(t.c.dataset == dataset))
            ).first()
        return (int(row.version), str(row.location)) if row is not None else None

    async def advance(self, dataset: str, previous: int, location: str) -> bool:
        """Make ``location`` version ``previous + 1`` unless another append got there first."""
        t = self.table
        try:
            async with self.database.engine.begin() as conn:
                if previous == 0:
                    await conn.execute(insert(t).values(dataset=dataset, version=1, location=location))
                    return True
                changed = await conn.execute(
                    update(t)
                    .where((t.c.dataset == dataset) & (t.c.version == previous))
                    .values(version=previous + 1, location=location)
                )
                return changed.rowcount == 1
        except IntegrityError:  # another first append
            return False

    async def forget(self, dataset: str) -> None:
        async with self.database.engine.begin() as conn:
            await conn.execute(delete(self.table).where(self.table.c.dataset == dataset))
