"""inline::qdrant (qdrant-client local mode) served by `stack run` with real MiniLM embeddings.

remote::qdrant is not exercised against a server: no Qdrant server can be installed from PyPI here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import stack_server
from qdrant_client import models
from stack_provider_qdrant.adapter import point_id, qdrant_filter
from vector_backends import restartable_target, vector_config

from stack_core import QueryParams
from stack_core.testing import StackServer, Target, VectorIOConformance

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with stack_server(vector_config("inline::qdrant", {}), tmp_path_factory.mktemp("home")) as server:
        yield server


class TestLocalQdrant(VectorIOConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return restartable_target(server)


def test_local_storage_lives_under_the_state_dir(server: StackServer) -> None:
    assert list(Path(server.env["STACK_HOME"]).glob("*/providers/vectors/qdrant"))


def test_filters_translate_to_qdrant() -> None:
    params = QueryParams.model_validate({"filters": {"type": "nin", "key": "n", "value": [1, 2]}})
    assert params.filters is not None
    translated = qdrant_filter(params.filters)
    assert translated.must_not == [models.FieldCondition(key="metadata.n", match=models.MatchAny(any=[1, 2]))]
    assert point_id("a") == point_id("a") != point_id("b")


def test_remote_without_url_is_a_config_error(tmp_path: Path) -> None:
    config = vector_config("remote::qdrant", {})
    server = StackServer(config, env={"STACK_HOME": str(tmp_path)}, startup_timeout=30)
    with pytest.raises(RuntimeError, match="remote::qdrant needs url"):
        server.start()
