"""Owned objects: owners recorded, the access policy applied on read and delete, and ``everyone`` for a
provider's background work (with database-side filtering on body values)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from users import as_user

from stack_core.access import AccessPolicy
from stack_core.config import StoreConfig
from stack_core.errors import ConflictError, NotFoundError, PermissionDeniedError
from stack_core.objects import OwnedObjects
from stack_core.resources import User
from stack_core.storage import CHECKPOINT_EVERY, Database

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


async def test_a_quick_write_waits_for_a_lock_another_process_holds_without_blocking_the_loop(
    jobs: OwnedObjects, tmp_path: Path
) -> None:
    """Quick operations run on the event loop while the file is free; while another connection
    holds the write lock they go to a worker thread, which waits for it, and the loop runs on."""
    await jobs.create("j0", {"n": 0})  # the table exists
    other = sqlite3.connect(tmp_path / "objects.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as another process writing
    other.execute("UPDATE stack_objects SET body = '{\"n\": -1}' WHERE id = 'j0'")
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    writing = asyncio.create_task(jobs.create("j1", {"n": 1}))
    await asyncio.sleep(0.3)
    assert not writing.done() and ticks >= 10  # waiting in a thread, the loop free
    other.execute("COMMIT")
    await asyncio.wait_for(writing, 5)
    ticker.cancel()
    assert (await jobs.get("j1")).body == {"n": 1} and (await jobs.get("j0")).body == {"n": -1}
    other.close()


async def test_quick_writes_keep_the_wal_checkpointed(jobs: OwnedObjects, tmp_path: Path) -> None:
    """Writes back to back (about 3 pages each): unchecked, the WAL would hold all 5 x 200 of them."""
    for n in range(5 * CHECKPOINT_EVERY):
        await jobs.create(f"j{n}", {"n": n, "pad": "x" * 2000})
    await asyncio.sleep(0.5)  # the last checkpoint runs in a worker thread
    wal = tmp_path / "objects.db-wal"
    assert wal.stat().st_size < 2 * CHECKPOINT_EVERY * 4 * 4096, wal.stat().st_size
    assert len(await jobs.list()) == 5 * CHECKPOINT_EVERY


async def test_a_duplicate_id_is_a_conflict_and_keeps_the_first_object(jobs: OwnedObjects) -> None:
    await create_as(ALICE, jobs, "j1", n=1)
    with as_user(ALICE), pytest.raises(ConflictError) as raised:
        await jobs.create("j1", {"n": 2})
    assert raised.value.code == "duplicate_id" and raised.value.status_code == 409
    with as_user(ALICE):
        stored = await jobs.get("j1")
    assert stored.body == {"n": 1} and stored.owner == ALICE and isinstance(stored.created_at, float)
