"""remote::huggingface DatasetIO in-process, offline: the real ``datasets`` loaders on local data
(builders, ``save_to_disk``), paging, appends as saved versions, and a 100k-row dataset paged at the
cost of the page. Beside inline::localfs, ``huggingface://`` registrations go to this provider."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import datasets
import httpx
import pytest

from stack_core import create_app

ROWS = [{"input_query": f"q{i}", "expected_answer": f"a{i}"} for i in range(5)]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@asynccontextmanager
async def hf_stack(home: Path) -> AsyncIterator[httpx.AsyncClient]:
    providers = [
        {"provider_id": "huggingface", "provider_type": "remote::huggingface", "config": {}},
        {"provider_id": "localfs", "provider_type": "inline::localfs", "config": {}},
    ]
    config = {
        "version": 2,
        "providers": {"datasetio": providers},
        "metadata_store": {"db_path": str(home / "r.db")},
    }
    app = create_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stack") as client:
            yield client


async def register(client: httpx.AsyncClient, dataset_id: str, uri: str) -> httpx.Response:
    body = {
        "dataset_id": dataset_id,
        "purpose": "eval/messages-answer",
        "source": {"type": "uri", "uri": uri},
    }
    return await client.post("/v1/datasets", json=body)


async def page(client: httpx.AsyncClient, dataset_id: str, start: int, limit: int) -> dict[str, Any]:
    reply = await client.get(
        f"/v1/datasetio/iterrows/{dataset_id}", params={"start_index": start, "limit": limit}
    )
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


async def test_builders_and_saved_datasets_page_and_append(tmp_path: Path) -> None:
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    datasets.Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"test": datasets.Dataset.from_list(ROWS)}).save_to_disk(str(tmp_path / "dict"))
    cache = tmp_path / "cache"
    uris = {
        "json": f"huggingface://datasets/json?data_files={jsonl}&split=train&cache_dir={cache}",
        "saved": f"huggingface://datasets/{tmp_path / 'saved'}",
        "dict": f"huggingface://datasets/{tmp_path / 'dict'}?split=test",
    }
    more = [{"input_query": "new", "expected_answer": "x"}]
    async with hf_stack(tmp_path) as client:
        for name, uri in uris.items():
            reply = await register(client, name, uri)
            assert reply.status_code == 200 and reply.json()["provider_id"] == "huggingface", reply.text
            first, rest = await page(client, name, 0, 3), await page(client, name, 3, 3)
            assert (
                first["data"] + rest["data"] == ROWS
                and first["next_start_index"] == 3
                and not rest["has_more"]
            )
            appended = await client.post(f"/v1/datasetio/append-rows/{name}", json={"rows": more})
            assert appended.status_code == 204, appended.text
            assert (await page(client, name, 0, -1))["data"] == ROWS + more
        rows = await client.post(
            "/v1/datasets", json={"purpose": "eval/question-answer", "source": {"type": "rows", "rows": ROWS}}
        )
        assert rows.json()["provider_id"] == "localfs"
        assert (
            await register(client, "hub", "huggingface://datasets/llamastack/simpleqa?split=train")
        ).status_code == 200
        missing = await client.get("/v1/datasetio/iterrows/hub")  # loaded on first read: offline here
        assert missing.status_code == 400 and "llamastack/simpleqa" in missing.json()["error"]["message"]
    async with hf_stack(tmp_path) as client:  # the appended versions survive a restart
        for name in uris:
            assert (await page(client, name, 0, -1))["data"] == ROWS + more


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def test_a_100k_row_dataset_pages_at_the_cost_of_the_page(tmp_path: Path) -> None:
    count = 100_000
    big = datasets.Dataset.from_dict({"i": list(range(count)), "text": ["x" * 200] * count})
    big.save_to_disk(str(tmp_path / "big"))
    size_mb = sum(f.stat().st_size for f in (tmp_path / "big").iterdir()) / 2**20
    del big
    async with hf_stack(tmp_path) as client:
        assert (
            await register(client, "big", f"huggingface://datasets/{tmp_path / 'big'}")
        ).status_code == 200
        before = rss_mb()

        async def timed(start: int) -> float:
            began = time.perf_counter()
            rows = (await page(client, "big", start, 100))["data"]
            assert [r["i"] for r in rows] == list(range(start, start + 100))
            return time.perf_counter() - began

        first = min([await timed(0) for _ in range(3)])
        last = min([await timed(count - 100) for _ in range(3)])
        assert last < first * 5 + 0.05
        assert rss_mb() - before < size_mb / 2
