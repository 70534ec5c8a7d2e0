"""Fixtures of the Responses tests: one fake backend and one `stack run` per module."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from backends import fake_backend, stack_server
from responses_stack import MODEL, responses_config, sdk

from stack_core.testing import StackServer


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    with fake_backend(models=MODEL) as url:
        yield url


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with stack_server(responses_config(backend), tmp_path_factory.mktemp("home")) as server:
        yield server


@pytest.fixture
def client(server: StackServer) -> Iterator[openai.OpenAI]:
    with sdk(server) as client:
        yield client
