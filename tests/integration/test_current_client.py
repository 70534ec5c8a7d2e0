"""The current client line, ``llama-stack-client`` 0.7 (Python >= 3.12), against `stack run`: model
objects carry ``custom_metadata`` (provider, provider resource id, model type) and
``vector_io.insert`` / ``query`` name the DB ``vector_store_id``.

That client cannot share a venv with the 0.2 line the other tests drive, so it runs in an
interpreter of its own, named by ``STACK_CLIENT_07_PYTHON`` (``nox -s tests`` and ``nox -s
current_client`` make it). Without it the test is skipped; in CI (``CI`` set) it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import fake_backend, inference_config, stack_server

from stack_core.testing import StackServer

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parents[1] / "support" / "current_client.py"


@pytest.fixture(scope="module")
def client_python() -> str:
    python = os.environ.get("STACK_CLIENT_07_PYTHON")
    if python:
        return python
    why = "STACK_CLIENT_07_PYTHON names no Python with llama-stack-client 0.7 (nox -s current_client sets it)"
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with fake_backend(models="model-a", embedding_models="embed-a") as url:
        config = inference_config(
            ("backend", "remote::vllm", {"url": f"{url}/v1"}),
            apis=["inference", "vector_io"],
            vector_dbs=[{"vector_db_id": "docs", "embedding_model": "embed-a", "embedding_dimension": 384}],
        )
        config["providers"]["vector_io"] = [{"provider_id": "faiss", "provider_type": "inline::faiss"}]
        with stack_server(config, tmp_path_factory.mktemp("home")) as server:
            yield server


def test_models_and_vector_io_with_the_current_client(client_python: str, server: StackServer) -> None:
    done = subprocess.run(
        [client_python, str(SCRIPT), server.url, "docs"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["version"].startswith("0.7.")
    assert report["models"]["model-a"] == {
        "provider_id": "backend",
        "provider_resource_id": "model-a",
        "model_type": "llm",
        "metadata": None,
    }
    assert report["models"]["embed-a"]["model_type"] == "embedding"
    cats, pasta = report["chunks"]
    assert cats == {
        "chunk_id": "cats",
        "content": "cats purr",
        "embedding_model": "embed-a",
        "embedding_dimension": 384,
        "document_id": "pets",
    }
    assert (pasta["chunk_id"], pasta["embedding_model"], pasta["embedding_dimension"]) == (
        "pasta",
        "embed-a",
        384,
    )
    first, second = report["scores"]
    assert first == pytest.approx(1.0, abs=1e-3) and second < first
