from __future__ import annotations

import sys
import weakref
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack_core import Database, JobService
from stack_core.config import StoreConfig

sys.path.insert(0, str(Path(__file__).parent / "support"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """HTTP clients a test's body leaves open (SDK clients made inline) are closed when it ends:
    otherwise the collector closes their sockets during some later test, whose run then fails
    with a ResourceWarning (an error here), at random. Fixtures' clients are theirs to close."""
    made: weakref.WeakSet[httpx.Client] = weakref.WeakSet()
    original = httpx.Client.__init__

    def tracked(self: httpx.Client, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.add(self)

    httpx.Client.__init__ = tracked  # type: ignore[method-assign]
    try:
        return (yield)
    finally:
        httpx.Client.__init__ = original  # type: ignore[method-assign]
        for client in list(made):
            client.close()


@pytest.fixture(autouse=True)
def stack_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state directory."""
    home = tmp_path / "stack-home"
    monkeypatch.setenv("STACK_HOME", str(home))
    return home


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """The stack's SQL database on a fresh SQLite file."""
    database = Database(StoreConfig(), tmp_path / "stack.db")
    yield database
    await database.close()


@pytest.fixture
async def jobs(database: Database) -> AsyncIterator[JobService]:
    """A job service on ``database`` polling fast; stopped after the test."""
    service = JobService(database, poll_interval=0.05)
    yield service
    await service.stop()
