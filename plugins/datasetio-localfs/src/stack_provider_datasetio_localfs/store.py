"""The rows of ``rows`` datasets (and rows appended to them) in the stack's database, one SQL row
each; paging is a range scan on the primary key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from stack_core import ConflictError, ProviderContext

Row = dict[str, Any]


class DatasetStore:
    def __init__(self, context: ProviderContext) -> None:
        self.database = context.database
        metadata = MetaData()
        self.rows = Table(
            self.database.table_name("datasetio_localfs_rows"),
            metadata,
            Column("dataset", String(255), primary_key=True),
            Column("position", Integer, primary_key=True),
            Column("row", Text, nullable=False),
        )
        self.metadata = metadata

    async def open(self) -> None:
        await self.database.create_tables(self.metadata)

    async def count(self, dataset: str) -> int:
        query = select(func.count()).select_from(self.rows).where(self.rows.c.dataset == dataset)
        async with self.database.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def page(self, dataset: str, start: int, limit: int | None) -> tuple[list[Row], bool]:
        """Rows from ``start`` (``limit`` of them, or all) and whether more follow."""
        t = self.rows
        query = (
            select(t.c.row).where((t.c.dataset == dataset) & (t.c.position >= start)).order_by(t.c.position)
        )
        if limit is not None:
            query = query.limit(limit + 1)
        async with self.database.engine.connect() as conn:
            found = [orjson.loads(r) for r in (await conn.execute(query)).scalars()]
        if limit is not None and len(found) > limit:
            return found[:limit], True
        return found, False

    async def append(self, dataset: str, rows: Sequence[Row]) -> None:
        """Add rows after the last; concurrent appends retry on the position they both took."""
        t = self.rows
        for _ in range(20):
            try:
                async with self.database.engine.begin() as conn:
                    last = (
                        await conn.execute(select(func.max(t.c.position)).where(t.c.dataset == dataset))
                    ).scalar()
                    first = -1 if last is None else int(last)
                    values = [
                        {"dataset": dataset, "position": first + 1 + i, "row": orjson.dumps(r).decode()}
                        for i, r in enumerate(rows)
                    ]
                    if values:
                        await conn.execute(insert(t), values)
                return
            except IntegrityError:
                continue
        raise ConflictError(f"Dataset '{dataset}' is being appended to concurrently; retry.")

    async def forget(self, dataset: str) -> None:
        async with self.database.engine.begin() as conn:
            await conn.execute(delete(self.rows).where(self.rows.c.dataset == dataset))
