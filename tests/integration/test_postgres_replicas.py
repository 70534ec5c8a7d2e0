"""Two server processes sharing one Postgres: a coherent registry and one quota count."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from backends import api_key_auth, fake_backend, inference_config, stack_server
from postgres import async_url, embedded_postgres
from test_hardening import race

pytestmark = pytest.mark.integration

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with embedded_postgres(tmp_path_factory.mktemp("pg")) as uri:
        yield async_url(uri)


def replica_config(
    backend: str, database: str, namespace: str, quota: int | None = None, auth: bool = False
) -> dict[str, object]:
    store = {"type": "sql", "url": database, "namespace": namespace}
    server: dict[str, object] = {"auth": api_key_auth()} if auth else {}
    if quota is not None:
        server["quota"] = {"kvstore": store, "anonymous_max_requests": quota, "period": "hour"}
    return inference_config(
        ("v", "remote::vllm", {"url": f"{backend}/v1"}), metadata_store=store, server=server
    )


def test_registry_is_shared_between_replicas(database: str, tmp_path: Path) -> None:
    with fake_backend(models="m") as backend:
        config = replica_config(backend, database, "reg")
        with stack_server(config, tmp_path / "a") as one, stack_server(config, tmp_path / "b") as two:
            body = {"model_id": "alias", "provider_id": "v", "provider_model_id": "m"}
            assert httpx.post(f"{one.url}/v1/models", json=body).status_code == 200
            assert httpx.get(f"{two.url}/v1/models/alias").json()["provider_resource_id"] == "m"
            chat = {**CHAT, "model": "alias"}
            assert httpx.post(f"{two.url}/v1/chat/completions", json=chat).status_code == 200
            assert httpx.delete(f"{two.url}/v1/models/alias").status_code == 204
            deadline = time.monotonic() + 5  # replicas re-sync every second
            while httpx.get(f"{one.url}/v1/models/alias").status_code != 404:
                assert time.monotonic() < deadline, "the deletion never reached the other replica"
                time.sleep(0.2)


def test_quota_is_counted_once_across_replicas(database: str, tmp_path: Path) -> None:
    with fake_backend(models="m") as backend:
        config = replica_config(backend, database, "quota", quota=50)
        with stack_server(config, tmp_path / "a") as one, stack_server(config, tmp_path / "b") as two:

            async def burst() -> list[int]:
                async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
                    urls = [one.url if i % 2 else two.url for i in range(64)]
                    replies = await asyncio.gather(
                        *(client.post(f"{u}/v1/chat/completions", json=CHAT) for u in urls)
                    )
                return [r.status_code for r in replies]

            statuses = Counter(asyncio.run(burst()))
    assert statuses == {200: 50, 429: 14}


def test_one_registration_wins_across_replicas(database: str, tmp_path: Path) -> None:
    with fake_backend(models="m") as backend:
        config = replica_config(backend, database, "race", auth=True)
        with stack_server(config, tmp_path / "a") as one, stack_server(config, tmp_path / "b") as two:
            rounds = asyncio.run(race((one.url, two.url), {"provider_id": "v", "provider_model_id": "m"}))
    assert rounds == [Counter({200: 1, 409: 1})] * 20
