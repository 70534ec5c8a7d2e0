"""``inline::notes-sqlite``: notes kept in the stack's SQL database (SQLAlchemy async).

The table lives in whatever store the stack runs on (SQLite by default, Postgres for replicas), so
notes survive restarts and are shared between replicas.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, MetaData, String, Table, Text, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from stack_core import BadRequestError, NotFoundError, ProviderContext

from .api import CreateNoteRequest, ListNotesRequest, ListNotesResponse, Note, NoteIdRequest
from .config import NotesSqliteConfig


def notes_table(name: str) -> Table:
    return Table(
        name,
        MetaData(),
        Column("id", String(64), primary_key=True),
        Column("title", String(200), nullable=False),
        Column("content", Text, nullable=False),
        Column("tags", JSON, nullable=False),
        Column("created_ns", BigInteger, nullable=False, index=True),
    )


def _note(row: Any) -> Note:
    return Note(
        id=row.id,
        title=row.title,
        content=row.content,
        tags=list(row.tags),
        created_at=row.created_ns // 1_000_000_000,
    )


class NotesSqlite:
    """Implements ``NotesProvider`` on one table of the stack's database."""

    def __init__(self, config: NotesSqliteConfig, engine: AsyncEngine, table: Table) -> None:
        self.config, self.engine, self.table = config, engine, table

    async def create_note(self, request: CreateNoteRequest) -> Note:
        if len(request.content) > self.config.max_content_chars:
            raise BadRequestError(
                f"Note content is {len(request.content)} characters; the limit is "
                f"{self.config.max_content_chars}.",
                param="content",
            )
        note_id, created_ns = f"note-{uuid.uuid4().hex[:16]}", time.time_ns()
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(self.table).values(
                    id=note_id,
                    title=request.title,
                    content=request.content,
                    tags=request.tags,
                    created_ns=created_ns,
                )
            )
        return Note(
            id=note_id,
            title=request.title,
            content=request.content,
            tags=request.tags,
            created_at=created_ns // 1_000_000_000,
        )

    async def list_notes(self, request: ListNotesRequest) -> ListNotesResponse:
        query = select(self.table).order_by(self.table.c.created_ns.desc()).limit(request.limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return ListNotesResponse(data=[_note(r) for r in rows])

    async def get_note(self, request: NoteIdRequest) -> Note:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(self.table).where(self.table.c.id == request.note_id))).first()
        if row is None:
            raise self._not_found(request.note_id)
        return _note(row)

    async def delete_note(self, request: NoteIdRequest) -> None:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(self.table).where(self.table.c.id == request.note_id))
        if result.rowcount == 0:
            raise self._not_found(request.note_id)

    async def health(self) -> dict[str, str]:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))
        return {"status": "OK"}

    @staticmethod
    def _not_found(note_id: str) -> NotFoundError:
        return NotFoundError(
            f"Note '{note_id}' not found. List notes with GET /v1/notes.",
            param="note_id",
            code="note_not_found",
        )


async def create_provider(config: NotesSqliteConfig, context: ProviderContext) -> NotesSqlite:
    """The provider factory: creates the table if needed."""
    engine = context.database.engine
    table = notes_table(context.database.table_name(config.table))
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
    return NotesSqlite(config, engine, table)
