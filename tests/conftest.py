from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stack_core import Database, JobService
from stack_core.config import StoreConfig

sys.path.insert(0, str(Path(__file__).parent / "support"))


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
