"""remote::ollama against the fake backend: models from /api/tags, OpenAI API under /v1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from backends import fake_backend, inference_config, stack_server

from stack_core.testing import InferenceConformance, StackServer, Target


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with fake_backend(models="llama3.2:3b", embedding_models="nomic-embed-text") as url:
        config = inference_config(("ollama", "remote::ollama", {"url": url}))
        with stack_server(config, tmp_path_factory.mktemp("home")) as server:
            yield server


class TestOllamaConformance(InferenceConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return Target(url=server.url, chat_model="llama3.2:3b", embedding_model="nomic-embed-text")
