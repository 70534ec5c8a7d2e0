"""Owned objects: what providers store per user (files, vector stores, sessions, jobs).

Providers keep their objects' metadata here instead of in tables of their own, so that ownership
and access control are enforced in one place: every object records the user who created it, and
``get``/``list``/``delete`` apply the stack's ``AccessPolicy`` for the current user (an object the
user may not read is reported as not found).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import (
    Column,
    Float,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from .access import AccessPolicy, Action
from .context import current_user
from .errors import ConflictError, NotFoundError, PermissionDeniedError
from .resources import User
from .storage import Database

__all__ = ["OwnedObject", "OwnedObjects", "paginate"]


class OwnedObject:
    """A stored object as the access policy sees it (``type``, ``identifier``, ``owner``)."""

    __slots__ = ("body", "created_at", "identifier", "owner", "type")

    def __init__(
        self, type: str, identifier: str, owner: User | None, body: dict[str, Any], created_at: float
    ) -> None:
        self.type, self.identifier, self.owner, self.body, self.created_at = (
            type,
            identifier,
            owner,
            body,
            created_at,
        )


class OwnedObjects:
    """Objects of one ``kind`` (e.g. ``file``) in the stack's database."""

    _tables: dict[tuple[int, str], Table] = {}

    def __init__(self, database: Database, kind: str, policy: AccessPolicy) -> None:
        self.database, self.kind, self.policy = database, kind, policy
        key = (id(database), database.table_name("stack_objects"))
        if key not in self._tables:
            self._tables[key] = Table(
                key[1],
                MetaData(),
                Column("kind", String(64), primary_key=True),
                Column("id", String(256), primary_key=True),
                Column("owner", Text, nullable=True),
                Column("body", Text, nullable=False),
                Column("created_at", Float, nullable=False),
            )
        self.table = table = self._tables[key]
        self._ready = False
        # Statements built once (their compiled form is then cached by SQLAlchemy): building one
        # per call cost more CPU than running it.
        one = (table.c.kind == kind) & (table.c.id == bindparam("identifier"))
        self._insert = insert(table)
        self._select = select(table).where(one)
        self._update = update(table).where(one).values(body=bindparam("new_body"))
        self._delete = delete(table).where(one)

    async def _ensure(self) -> None:
        if not self._ready:
            await self.database.create_tables(self.table.metadata)
            self._ready = True

    def _object(self, row: Sequence[Any]) -> OwnedObject:
        _, identifier, owner, body, created_at = row
        user = User.model_validate_json(owner) if owner else None
        return OwnedObject(self.kind, identifier, user, orjson.loads(body), created_at)

    async def create(self, identifier: str, body: dict[str, Any]) -> OwnedObject:
        """Store a new object owned by the current user."""
        await self._ensure()
        user = current_user.get()
        now = time.time()
        row = {
            "kind": self.kind,
            "id": identifier,
            "owner": user.model_dump_json() if user else None,
            "body": orjson.dumps(body).decode(),
            "created_at": now,
        }
        try:
            await self.database.execute(self._insert, row, write=True)
        except IntegrityError:
            raise ConflictError(
                f"A {self.kind} with id '{identifier}' already exists: choose another id.",
                code="duplicate_id",
            ) from None
        return OwnedObject(self.kind, identifier, user, body, now)

    async def update(self, identifier: str, body: dict[str, Any]) -> None:
        """Replace an object's body (no access check: call ``get(..., "update")`` first)."""
        await self._ensure()
        params = {"identifier": identifier, "new_body": orjson.dumps(body).decode()}
        await self.database.execute(self._update, params, write=True)

    async def get(self, identifier: str, action: Action = "read") -> OwnedObject:
        await self._ensure()
        params = {"identifier": identifier}
        rows = await self.database.execute(self._select, params)
        obj = self._object(rows[0]) if rows else None
        user = current_user.get()
        if obj is not None and self.policy.allows(user, action, obj):
            return obj
        if obj is not None and action != "read" and self.policy.allows(user, "read", obj):
            raise PermissionDeniedError(f"You may not {action} {self.kind} '{identifier}'.")
        raise NotFoundError(f"No {self.kind} with id '{identifier}'.", code=f"{self.kind}_not_found")

    async def everyone(
        self, prefix: str | None = None, matching: dict[str, str] | None = None
    ) -> list[OwnedObject]:
        """Every object of this kind, whoever owns it, oldest first: for a provider's own background
        work (resuming what a crash interrupted, expiry), never to answer a request. ``matching``
        keeps the objects whose body has these top-level string values, filtered in the database."""
        await self._ensure()
        where = self.table.c.kind == self.kind
        if prefix:
            where = where & self.table.c.id.startswith(prefix, autoescape=True)
        for key, value in (matching or {}).items():  # a superset, narrowed below
            where = where & self.table.c.body.contains(
                orjson.dumps({key: value})[1:-1].decode(), autoescape=True
            )
        query = select(self.table).where(where).order_by(self.table.c.created_at)
        rows = await self.database.run(lambda conn: conn.execute(query).all())
        objects = [self._object(r) for r in rows]
        return [o for o in objects if all(o.body.get(k) == v for k, v in (matching or {}).items())]

    async def list(self, prefix: str | None = None) -> list[OwnedObject]:
        """Objects the current user may read, oldest first; only ids starting with ``prefix`` if
        given (e.g. ``"vs_1/"`` for the files of one vector store)."""
        user = current_user.get()
        return [o for o in await self.everyone(prefix) if self.policy.allows(user, "read", o)]

    async def delete(self, identifier: str) -> OwnedObject:
        obj = await self.get(identifier, "delete")
        params = {"identifier": identifier}
        await self.database.execute(self._delete, params, write=True)
        return obj


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


def paginate(
    items: Sequence[T], order: str, limit: int, after: str | None = None, before: str | None = None
) -> tuple[list[T], bool]:
    """A page of ``items`` (oldest first) in ``order`` (``asc``/``desc``), after or before a cursor
    id, as OpenAI's list routes page; and whether there are more."""
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [item.id for item in ordered]
    if after is not None:
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    if before is not None:
        ids = [item.id for item in ordered]
        end = ids.index(before) if before in ids else 0
        start = max(0, end - limit)
        return ordered[start:end], start > 0
    return ordered[:limit], len(ordered) > limit
