"""Quotas over real sockets: the seed's 429 body, headers, and exact counting under concurrency."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from auth_endpoint import spawn_auth_endpoint
from backends import fake_backend, inference_config, stack_server

pytestmark = pytest.mark.integration

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


async def burst(url: str, count: int, headers: dict[str, str] | None = None) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        return list(
            await asyncio.gather(
                *(client.post("/v1/chat/completions", json=CHAT, headers=headers) for _ in range(count))
            )
        )


@pytest.mark.parametrize("workers", [1, 2])
def test_exactly_the_limit_succeeds_under_concurrency(tmp_path: Path, workers: int) -> None:
    quota = {
        "kvstore": {"type": "sqlite", "db_path": str(tmp_path / "quotas.db")},
        "anonymous_max_requests": 50,
        "period": "day",
    }
    with fake_backend(models="m") as backend:
        config = inference_config(("v", "remote::vllm", {"url": f"{backend}/v1"}), server={"quota": quota})
        with stack_server(config, tmp_path, args=("--workers", str(workers))) as server:
            statuses = Counter(r.status_code for r in asyncio.run(burst(server.url, 64)))
            refused = httpx.post(f"{server.url}/v1/chat/completions", json=CHAT)
    assert statuses == {200: 50, 429: 14}
    assert refused.json() == {"error": {"message": "Quota exceeded"}}
    assert int(refused.headers["retry-after"]) > 0 and refused.headers["x-should-retry"] == "false"


def test_authenticated_clients_are_counted_apart(tmp_path: Path) -> None:
    quota = {
        "kvstore": {"type": "sqlite", "db_path": str(tmp_path / "q.db")},
        "anonymous_max_requests": 1,
        "authenticated_max_requests": 3,
        "period": "minute",
    }
    auth_url, auth = spawn_auth_endpoint()
    try:
        with fake_backend(models="m") as backend:
            config = inference_config(
                ("v", "remote::vllm", {"url": f"{backend}/v1"}),
                server={
                    "quota": quota,
                    "auth": {"provider_config": {"type": "custom", "endpoint": f"{auth_url}/validate"}},
                },
            )
            with stack_server(config, tmp_path) as server:
                first = [
                    r.status_code for r in asyncio.run(burst(server.url, 4, {"authorization": "Bearer one"}))
                ]
                second = [
                    r.status_code for r in asyncio.run(burst(server.url, 2, {"authorization": "Bearer two"}))
                ]
    finally:
        auth.terminate()
        auth.wait()
    assert sorted(first) == [200, 200, 200, 429] and second == [200, 200]


async def test_increments_arriving_together_share_one_write_and_keep_exact_places(tmp_path: Path) -> None:
    import asyncio

    from stack_core.server.quota import Counter, SqliteCounter

    store = SqliteCounter(tmp_path / "quotas.db")
    writes = 0
    add = store.add

    async def counted_add(key: str, window: int, n: int) -> int:
        nonlocal writes
        writes += 1
        return await add(key, window, n)

    store.add = counted_add  # type: ignore[method-assign]
    counter = Counter(store)
    places = await asyncio.gather(*(counter.increment("user:a", 7) for _ in range(40)))
    assert sorted(places) == list(range(1, 41)) and writes == 1
    others = await asyncio.gather(*(counter.increment(key, 7) for key in ("user:a", "user:b", "user:a")))
    await counter.close()
    assert sorted(others) == [1, 41, 42] and writes == 3  # one write per key in the second group


async def test_closing_waits_for_the_write_in_flight(tmp_path: Path) -> None:
    import asyncio

    from stack_core.server.quota import Counter, SqliteCounter

    store = SqliteCounter(tmp_path / "quotas.db")
    add = store.add

    async def slow_add(key: str, window: int, n: int) -> int:
        await asyncio.sleep(0.05)  # a network database's round trip
        return await add(key, window, n)

    store.add = slow_add  # type: ignore[method-assign]
    counter = Counter(store)
    pending = asyncio.ensure_future(counter.increment("user:a", 1))
    await asyncio.sleep(0.01)  # the write has started
    await counter.close()
    assert await pending == 1
