"""inline::chromadb (embedded PersistentClient) and remote::chromadb (a `chroma run` server), served
by `stack run` with real MiniLM embeddings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import stack_server
from llama_stack_client import LlamaStackClient
from stack_provider_chromadb.adapter import chroma_where, collection_name
from vector_backends import EMBEDDING_MODEL, chroma_server, restartable_target, vector_config

from stack_core.testing import StackServer, Target, VectorIOConformance

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def inline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    config = vector_config("inline::chromadb", {})
    with stack_server(config, tmp_path_factory.mktemp("home")) as server:
        yield server


@pytest.fixture(scope="module")
def remote_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    data = tmp_path_factory.mktemp("chroma") / "data"
    with (
        chroma_server(data) as url,
        stack_server(
            vector_config("remote::chromadb", {"url": url}), tmp_path_factory.mktemp("home")
        ) as server,
    ):
        yield server


class TestInlineChroma(VectorIOConformance):
    @pytest.fixture
    def target(self, inline_server: StackServer) -> Target:
        return restartable_target(inline_server)


class TestRemoteChroma(VectorIOConformance):
    @pytest.fixture
    def target(self, remote_server: StackServer) -> Target:
        return restartable_target(remote_server)


def test_embedded_data_lives_under_the_state_dir(inline_server: StackServer) -> None:
    home = Path(inline_server.env["STACK_HOME"])
    assert list(home.glob("*/providers/vectors/chroma/chroma.sqlite3"))


def test_llama_stack_client_round_trip(inline_server: StackServer) -> None:
    client = LlamaStackClient(base_url=inline_server.url)
    db = client.vector_dbs.register(
        vector_db_id="sdk-db", embedding_model=EMBEDDING_MODEL, embedding_dimension=384
    )
    assert db.identifier == "sdk-db" and db.provider_id == "vectors"
    assert "sdk-db" in {d.identifier for d in client.vector_dbs.list()}
    client.vector_io.insert(
        vector_db_id="sdk-db",
        chunks=[
            {"content": "The Eiffel Tower is in Paris.", "metadata": {"document_id": "paris"}},
            {"content": "Mount Fuji is the highest mountain in Japan.", "metadata": {"document_id": "fuji"}},
        ],
    )
    result = client.vector_io.query(vector_db_id="sdk-db", query="Which city has the Eiffel Tower?")
    assert result.chunks[0].metadata["document_id"] == "paris" and len(result.scores) == 2
    client.vector_dbs.unregister("sdk-db")


def test_collection_names_and_filters_translate() -> None:
    assert collection_name("docs") == "docs"
    assert collection_name("a b/c").startswith("stack-") and len(collection_name("x")) > 3
    from stack_core import QueryParams

    params = QueryParams.model_validate({"filters": {"topic": "a", "n": 2}})
    assert params.filters is not None
    assert chroma_where(params.filters) == {"$and": [{"topic": {"$eq": "a"}}, {"n": {"$eq": 2}}]}
