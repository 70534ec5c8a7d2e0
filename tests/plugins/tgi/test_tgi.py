"""remote::tgi against the fake backend: its one model named by /info."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from backends import fake_backend, inference_config, stack_server

from stack_core.testing import ChatConformance, StackServer, Target, ToolsConformance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with fake_backend(models="tgi-model,other") as url:
        config = inference_config(("tgi", "remote::tgi", {"url": url}))
        with stack_server(config, tmp_path_factory.mktemp("home")) as server:
            yield server


class TestTGIConformance(ChatConformance, ToolsConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return Target(url=server.url, chat_model="tgi-model")


def test_only_the_info_model_is_listed(server: StackServer) -> None:
    models = httpx.get(f"{server.url}/v1/models").json()["data"]
    assert [m["id"] for m in models] == ["tgi-model"]
