"""API keys in the stack's SQL database (``stack keys create|list|revoke``), held only as hashes.

A key reads ``sk-stack-<id>-<secret>``: the 8-hex-digit ``id`` is not secret (it names the key in
listings and revocations) and is the table's primary key, so a lookup is one indexed read; the
stored SHA-256 of the whole key is then compared in constant time. The secret is 256 random bits
from ``secrets``, so an unsalted hash is enough: it cannot be guessed or looked up in a table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from pydantic import BaseModel, Field
from sqlalchemy import JSON, Column, Float, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..storage import Database

__all__ = ["KEY_PREFIX", "ApiKeyRecord", "KeyStore", "generate_key", "hash_key", "key_id"]

KEY_PREFIX = "sk-stack-"
_ID_LENGTH = 8


def generate_key() -> tuple[str, str]:
    """A new ``(id, key)``; the key is shown once and never stored."""
    ident = secrets.token_hex(_ID_LENGTH // 2)
    return ident, f"{KEY_PREFIX}{ident}-{secrets.token_urlsafe(32)}"


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_id(key_or_id: str) -> str | None:
    """The id inside a key (or an id given with or without the prefix); None if there is none."""
    text = key_or_id.removeprefix(KEY_PREFIX)
    ident = text[:_ID_LENGTH]
    if len(ident) != _ID_LENGTH or any(c not in "0123456789abcdef" for c in ident):
        return None
    return ident if len(text) == _ID_LENGTH or text[_ID_LENGTH] == "-" else None


class ApiKeyRecord(BaseModel):
    id: str
    principal: str
    attributes: dict[str, list[str]] = Field(default_factory=dict)
    created_at: float
    revoked_at: float | None = None

    @property
    def name(self) -> str:
        return f"{KEY_PREFIX}{self.id}"


class KeyStore:
    """The ``api_keys`` table of a ``Database`` (namespaced like every other table)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.table = Table(
            database.table_name("stack_api_keys"),
            MetaData(),
            Column("id", String(16), primary_key=True),
            Column("key_hash", String(80), nullable=False),
            Column("principal", String(512), nullable=False),
            Column("attributes", JSON, nullable=False),
            Column("created_at", Float, nullable=False),
            Column("revoked_at", Float, nullable=True),
        )

    async def open(self) -> None:
        try:
            await self.database.create_tables(self.table.metadata)
        except SQLAlchemyError:  # another worker created it between the check and the create
            await self.database.create_tables(self.table.metadata)

    async def create(self, principal: str, attributes: dict[str, list[str]]) -> tuple[ApiKeyRecord, str]:
        """Store a new key for ``principal``; returns its record and the key (to show once)."""
        ident, key = generate_key()
        record = ApiKeyRecord(id=ident, principal=principal, attributes=attributes, created_at=time.time())
        async with self.database.engine.begin() as conn:
            await conn.execute(insert(self.table).values(key_hash=hash_key(key), **record.model_dump()))
        return record, key

    async def verify(self, key: str) -> ApiKeyRecord | None:
        """The active record ``key`` belongs to, or None."""
        ident = key_id(key)
        if ident is None or not key.startswith(KEY_PREFIX):
            return None
        async with self.database.engine.connect() as conn:
            row = (await conn.execute(select(self.table).where(self.table.c.id == ident))).mappings().first()
        if row is None or row["revoked_at"] is not None:
            return None
        if not hmac.compare_digest(str(row["key_hash"]), hash_key(key)):
            return None
        return ApiKeyRecord.model_validate({k: v for k, v in row.items() if k != "key_hash"})

    async def records(self) -> list[ApiKeyRecord]:
        async with self.database.engine.connect() as conn:
            rows = (await conn.execute(select(self.table).order_by(self.table.c.created_at))).mappings().all()
        return [ApiKeyRecord.model_validate({k: v for k, v in r.items() if k != "key_hash"}) for r in rows]

    async def revoke(self, ident: str) -> bool:
        """Mark the key revoked; False if there is no such key or it already was."""
        statement = (
            update(self.table)
            .where(self.table.c.id == ident, self.table.c.revoked_at.is_(None))
            .values(revoked_at=time.time())
        )
        async with self.database.engine.begin() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)
