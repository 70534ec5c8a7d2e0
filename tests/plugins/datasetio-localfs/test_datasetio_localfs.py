"""inline::localfs DatasetIO in-process: every source kind pages through all its rows, appends
persist (in SQL for rows, as a new file version for files) and survive a restart, large files page
at the cost of the page."""

from __future__ import annotations

import base64
import json
import resource
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack_core import create_app

ROWS = [{"input_query": f"q{i}", "expected_answer": f"a{i}"} for i in range(7)]


@asynccontextmanager
async def datasets_stack(home: Path, **config: Any) -> AsyncIterator[httpx.AsyncClient]:
    provider = {"provider_id": "localfs", "provider_type": "inline::localfs", "config": config}
    app = create_app(
        {
            "version": 2,
            "providers": {"datasetio": [provider]},
            "metadata_store": {"db_path": str(home / "r.db")},
        }
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stack") as client:
            yield client


async def register(client: httpx.AsyncClient, dataset_id: str, source: dict[str, Any]) -> httpx.Response:
    body = {"dataset_id": dataset_id, "purpose": "eval/question-answer", "source": source}
    return await client.post("/v1/datasets", json=body)


async def all_rows(client: httpx.AsyncClient, dataset_id: str, limit: int = 3) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    start: int | None = 0
    while start is not None:
        page = (
            await client.get(
                f"/v1/datasetio/iterrows/{dataset_id}", params={"start_index": start, "limit": limit}
            )
        ).json()
        rows += page["data"]
        assert page["has_more"] == (page["next_start_index"] is not None)
        start = page["next_start_index"]
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def csv_text(rows: list[dict[str, Any]]) -> str:
    return "input_query,expected_answer\n" + "".join(
        f'"{r["input_query"]}",{r["expected_answer"]}\n' for r in rows
    )


def sources(tmp_path: Path) -> dict[str, dict[str, Any]]:
    (tmp_path / "d.csv").write_text(csv_text(ROWS))
    (tmp_path / "d.json").write_text(json.dumps(ROWS))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet", row_group_size=2)
    b64 = base64.b64encode(csv_text(ROWS).encode()).decode()
    jsonl = "".join(json.dumps(r) + "\n" for r in ROWS)
    return {
        "rows": {"type": "rows", "rows": ROWS},
        "csv-b64": {"type": "uri", "uri": f"data:text/csv;base64,{b64}"},
        "jsonl-plain": {"type": "uri", "uri": "data:application/jsonl," + jsonl.replace("\n", "%0A")},
        "file-jsonl": {"type": "uri", "uri": write_jsonl(tmp_path / "d.jsonl", ROWS).as_uri()},
        "file-csv": {"type": "uri", "uri": (tmp_path / "d.csv").as_uri()},
        "file-json": {"type": "uri", "uri": (tmp_path / "d.json").as_uri()},
        "file-parquet": {"type": "uri", "uri": (tmp_path / "d.parquet").as_uri()},
    }


async def test_every_source_pages_through_all_rows_and_appends_persist(tmp_path: Path) -> None:
    more = [{"input_query": "new", "expected_answer": "x"}, {"input_query": "newer", "expected_answer": "y"}]
    async with datasets_stack(tmp_path) as client:
        for name, source in sources(tmp_path).items():
            assert (await register(client, name, source)).status_code == 200, name
            assert await all_rows(client, name) == ROWS, name
            whole = (await client.get(f"/v1/datasetio/iterrows/{name}", params={"limit": -1})).json()
            assert whole["data"] == ROWS and whole["has_more"] is False
            reply = await client.post(f"/v1/datasetio/append-rows/{name}", json={"rows": more})
            assert reply.status_code == 204, reply.text
            assert await all_rows(client, name) == ROWS + more, name
    async with datasets_stack(tmp_path) as client:  # a restart keeps every appended row
        for name in sources(tmp_path):
            await client.post(f"/v1/datasetio/append-rows/{name}", json={"rows": more[:1]})
            assert await all_rows(client, name, limit=4) == ROWS + more + more[:1], name


async def test_unreadable_sources_are_refused_at_registration(tmp_path: Path) -> None:
    async with datasets_stack(tmp_path) as client:
        missing = await register(client, "gone", {"type": "uri", "uri": (tmp_path / "nope.jsonl").as_uri()})
        assert missing.status_code == 400 and "nope.jsonl" in missing.json()["error"]["message"]
        bad = await register(client, "bad", {"type": "uri", "uri": (tmp_path / "x.xlsx").as_uri()})
        assert bad.status_code == 400
        purpose = await client.post(
            "/v1/datasets", json={"purpose": "nope", "source": {"type": "rows", "rows": []}}
        )
        assert purpose.status_code == 400
        assert (await client.get("/v1/datasetio/iterrows/unknown")).status_code == 404


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
async def test_the_last_page_of_a_large_file_costs_what_the_first_does(tmp_path: Path, kind: str) -> None:
    count, pad = 100_000, "x" * 200
    rows = ({"i": i, "text": pad} for i in range(count))
    if kind == "jsonl":
        path = tmp_path / "big.jsonl"
        with path.open("w") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = tmp_path / "big.parquet"
        pq.write_table(pa.Table.from_pylist(list(rows)), path, row_group_size=5_000)
    size_mb = path.stat().st_size / 2**20
    async with datasets_stack(tmp_path) as client:
        assert (await register(client, "big", {"type": "uri", "uri": path.as_uri()})).status_code == 200
        before = rss_mb()

        async def page(start: int) -> float:
            began = time.perf_counter()
            reply = (
                await client.get("/v1/datasetio/iterrows/big", params={"start_index": start, "limit": 100})
            ).json()
            assert [r["i"] for r in reply["data"]] == list(range(start, min(start + 100, count)))
            return time.perf_counter() - began

        first = min([await page(0) for _ in range(3)])
        last = min([await page(count - 100) for _ in range(3)])
        assert last < first * 5 + 0.05  # loose: no scan of the rows before the page
        assert rss_mb() - before < size_mb / 2  # the file is never held in memory whole
