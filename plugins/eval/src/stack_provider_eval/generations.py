"""A job's generations so far, one SQL row per dataset row: a resumed job skips the rows already
answered, and a batch saved twice (a run that died after saving it) changes nothing. Each row's
score by the benchmark's first scoring function is saved with it (NULL when not numeric), so any
process can report the running accuracy of the rows done."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from stack_core import Database


class Generations:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.table = Table(
            database.table_name("eval_generations"),
            MetaData(),
            Column("job", String(64), primary_key=True),
            Column("position", Integer, primary_key=True),
            Column("generation", Text, nullable=False),
        )
        self.scores = Table(
            database.table_name("eval_running_scores"),
            self.table.metadata,
            Column("job", String(64), primary_key=True),
            Column("position", Integer, primary_key=True),
            Column("score", Float, nullable=True),
        )

    async def open(self) -> None:
        await self.database.create_tables(self.table.metadata)

    async def done(self, job: str) -> set[int]:
        t = self.table
        async with self.database.engine.connect() as conn:
            return set((await conn.execute(select(t.c.position).where(t.c.job == job))).scalars())

    async def save(
        self, job: str, batch: Mapping[int, Mapping[str, Any]], scores: Mapping[int, float | None]
    ) -> None:
        """Save a batch of generations and their rows' scores together."""
        values = [
            {"job": job, "position": i, "generation": orjson.dumps(dict(g)).decode()}
            for i, g in batch.items()
        ]
        if not values:
            return
        dialect = postgresql if self.database.url.startswith("postgresql") else sqlite
        keys = ["job", "position"]
        async with self.database.engine.begin() as conn:
            await conn.execute(dialect.insert(self.table).on_conflict_do_nothing(index_elements=keys), values)
            await conn.execute(
                dialect.insert(self.scores).on_conflict_do_nothing(index_elements=keys),
                [{"job": job, "position": i, "score": scores.get(i)} for i in batch],
            )

    async def accuracy(self, job: str) -> float | None:
        """The mean score of the rows saved so far (a row without a numeric score counts 0), as
        the ``accuracy`` aggregation computes it; None before any row has a numeric score."""
        s = self.scores
        query = select(func.sum(s.c.score), func.count(), func.count(s.c.score)).where(s.c.job == job)
        async with self.database.engine.connect() as conn:
            total, rows, numeric = (await conn.execute(query)).one()
        return float(total) / rows if numeric else None

    async def all(self, job: str) -> list[dict[str, Any]]:
        t = self.table
        query = select(t.c.generation).where(t.c.job == job).order_by(t.c.position)
        async with self.database.engine.connect() as conn:
            return [orjson.loads(g) for g in (await conn.execute(query)).scalars()]

    async def forget(self, job: str) -> None:
        async with self.database.engine.begin() as conn:
            await conn.execute(delete(self.table).where(self.table.c.job == job))
            await conn.execute(delete(self.scores).where(self.scores.c.job == job))
