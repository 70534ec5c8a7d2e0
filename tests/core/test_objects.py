"""Owned objects: owners recorded, the access policy applied on read and delete, and ``everyone`` for a
provider's background work (with database-side filtering on body values)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from users import as_user

from stack_core.access import AccessPolicy
from stack_core.config import StoreConfig
from stack_core.errors import NotFoundError, PermissionDeniedError
from stack_core.objects import OwnedObjects
from stack_core.resources import User
from stack_core.storage import Database

ALICE = User(principal="alice", attributes={"teams": ["ml"]})
BOB = User(principal="bob", attributes={"teams": ["web"]})
CAROL = User(principal="carol", attributes={"teams": ["ml"]})


@pytest.fixture
async def jobs(tmp_path: Path) -> AsyncIterator[OwnedObjects]:
    database = Database(StoreConfig(), tmp_path / "objects.db")
    yield OwnedObjects(database, "job", AccessPolicy())
    await database.close()


async def create_as(user: User, objects: OwnedObjects, identifier: str, **body: object) -> None:
    with as_user(user):
        await objects.create(identifier, dict(body))


async def test_owners_and_teams_see_their_objects_others_do_not(jobs: OwnedObjects) -> None:
    await create_as(ALICE, jobs, "j1", status="running")
    with as_user(BOB):
        assert await jobs.list() == []
        with pytest.raises(NotFoundError):
            await jobs.get("j1")
        with pytest.raises(NotFoundError):
            await jobs.delete("j1")
    with as_user(CAROL):
        assert [o.identifier for o in await jobs.list()] == ["j1"]
        assert (await jobs.get("j1")).owner == ALICE


async def test_a_reader_who_may_not_delete_is_told_so(jobs: OwnedObjects) -> None:
    rules = [
        {"permit": {"actions": ["create", "read", "delete"]}, "when": "user is owner"},
        {"permit": {"actions": ["read"]}, "when": "user in owners teams"},
    ]
    guarded = OwnedObjects(jobs.database, "job", AccessPolicy.from_config(rules))
    await create_as(ALICE, guarded, "j1", status="running")
    with as_user(CAROL), pytest.raises(PermissionDeniedError):
        await guarded.delete("j1")
    with as_user(ALICE):
        assert (await guarded.delete("j1")).identifier == "j1"


async def test_everyone_ignores_owners_and_filters_on_body_values(jobs: OwnedObjects) -> None:
    await create_as(ALICE, jobs, "a/1", status="running")
    await create_as(BOB, jobs, "a/2", status="done", note='"status":"running"')
    await create_as(BOB, jobs, "a/3", status="running", other="100%_")
    await create_as(CAROL, jobs, "b/1", status="running")
    with as_user(BOB):
        running = await jobs.everyone(matching={"status": "running"})
        assert [o.identifier for o in running] == ["a/1", "a/3", "b/1"]
        assert [o.owner for o in running] == [ALICE, BOB, CAROL]
        assert [o.identifier for o in await jobs.everyone("a/", {"status": "running"})] == ["a/1", "a/3"]
        assert [o.identifier for o in await jobs.everyone(matching={"other": "100%_"})] == ["a/3"]
        assert [o.identifier for o in await jobs.list()] == ["a/2", "a/3"]
