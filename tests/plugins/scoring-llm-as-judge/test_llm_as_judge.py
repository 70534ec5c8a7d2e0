"""inline::llm-as-judge in-process against the fake backend: parameters from the request or the
registration (a request's never stick), the string score of the first matching regex, SimpleQA's
categorical count, and 400s for what cannot be judged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_backend import FakeBackend

from stack_core import create_app

JUDGE = {
    "type": "llm_as_judge",
    "judge_model": "judge",
    "prompt_template": "Question {input_query}. Score: {expected_answer}",
    "judge_score_regexes": [r"Grade: (\d)", r"Score: (\d)"],
    "aggregation_functions": ["average", "categorical_count"],
}
ROWS = [
    {"input_query": "q1", "expected_answer": "4", "generated_answer": "x"},
    {"input_query": "q2", "expected_answer": "2", "generated_answer": "y"},
]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with FakeBackend(models=["judge"]) as backend:
        config = {
            "version": 2,
            "providers": {
                "inference": [
                    {
                        "provider_id": "vllm",
                        "provider_type": "remote::vllm",
                        "config": {"url": f"{backend.url}/v1"},
                    }
                ],
                "scoring": [
                    {
                        "provider_id": "judge",
                        "provider_type": "inline::llm-as-judge",
                        "config": {"simpleqa_judge_model": "judge"},
                    }
                ],
            },
            "metadata_store": {"db_path": str(tmp_path / "r.db")},
        }
        app = create_app(config)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://stack") as client:
                yield client


async def score(
    client: httpx.AsyncClient, functions: dict[str, Any], rows: list[dict[str, Any]] = ROWS
) -> httpx.Response:
    return await client.post("/v1/scoring/score", json={"input_rows": rows, "scoring_functions": functions})


async def test_request_and_registered_params(client: httpx.AsyncClient) -> None:
    judged = (await score(client, {"llm-as-judge::base": JUDGE})).json()["results"]["llm-as-judge::base"]
    assert [r["score"] for r in judged["score_rows"]] == ["4", "2"]
    assert judged["aggregated_results"] == {"average": 3.0, "categorical_count": {"4": 1, "2": 1}}
    assert (
        await score(client, {"llm-as-judge::base": None})
    ).status_code == 400  # the request's did not stick
    body = {
        "scoring_fn_id": "my-judge",
        "provider_id": "judge",
        "description": "d",
        "return_type": {"type": "string"},
        "params": JUDGE,
    }
    assert (await client.post("/v1/scoring-functions", json=body)).status_code == 200
    mine = (await score(client, {"my-judge": None})).json()["results"]["my-judge"]
    assert [r["score"] for r in mine["score_rows"]] == ["4", "2"]


async def test_simpleqa_counts_categories(client: httpx.AsyncClient) -> None:
    listed = {f["identifier"]: f for f in (await client.get("/v1/scoring-functions")).json()["data"]}
    assert listed["llm-as-judge::405b-simpleqa"]["params"]["aggregation_functions"] == ["categorical_count"]
    rows = [{**r, "expected_answer": "Paris"} for r in ROWS]
    result = (await score(client, {"llm-as-judge::405b-simpleqa": None}, rows)).json()["results"]
    counts = result["llm-as-judge::405b-simpleqa"]["aggregated_results"]["categorical_count"]
    assert sum(counts.values()) == 2  # the echoing judge's letter, whichever it is


async def test_what_cannot_be_judged_is_a_400(client: httpx.AsyncClient) -> None:
    no_query = [{"expected_answer": "a", "generated_answer": "b"}]
    assert (await score(client, {"llm-as-judge::base": JUDGE}, no_query)).status_code == 400
    no_template = {**JUDGE, "prompt_template": None}
    assert (await score(client, {"llm-as-judge::base": no_template})).status_code == 400
    refused = {
        "scoring_fn_id": "x",
        "provider_id": "judge",
        "description": "d",
        "return_type": {"type": "string"},
    }
    assert (await client.post("/v1/scoring-functions", json=refused)).status_code == 400
