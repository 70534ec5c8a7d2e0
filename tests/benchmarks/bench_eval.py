"""Eval benchmark: rows/s of an eval job through Stack vs the fake backend's direct request rate at
the same concurrency, same run (target: Stack at 0.8 of direct or better).

    python tests/benchmarks/bench_eval.py [--rows 400] [--concurrency 16] [--latency-ms 25]

Direct: ``--rows`` chat completions sent straight to the fake backend (a model that answers after
``--latency-ms``) with aiohttp (what Stack's upstream client uses: httpx's own transport costs
several ms of CPU a request here), ``--concurrency`` in flight. Through Stack: a rows dataset of the same size, a
benchmark scored with ``basic::regex_parser_multiple_choice_answer``, one ``run_eval`` job (eval
provider ``max_concurrency`` = ``--concurrency``), timed from submission to ``completed``: it
includes reading the dataset, saving generations in batches, scoring and storing the result.
Results print as a table and go to ``bench-results/eval-*.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from fake_backend import spawn_fake_backend  # noqa: E402

from stack_core.testing import StackServer  # noqa: E402


def rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "chat_completion_input": json.dumps(
                [{"role": "user", "content": f"Question {i}? Answer: {'ABCD'[i % 4]}"}]
            ),
            "expected_answer": "ABCD"[i % 4],
        }
        for i in range(count)
    ]


async def direct(url: str, count: int, concurrency: int) -> float:
    """The backend's rate with aiohttp, the HTTP client Stack's upstream calls use."""
    bound = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url=url, connector=connector) as session:

        async def one(i: int) -> None:
            async with bound:
                body = {
                    "model": "llm",
                    "messages": [{"role": "user", "content": f"Question {i}?"}],
                    "max_tokens": 64,
                }
                async with session.post("/v1/chat/completions", json=body) as reply:
                    reply.raise_for_status()
                    await reply.read()

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - began)


def through_stack(url: str, count: int, concurrency: int) -> float:
    def entry(pid: str, ptype: str, **cfg: Any) -> dict[str, Any]:
        return {"provider_id": pid, "provider_type": ptype, "config": cfg}

    config = {
        "version": 2,
        "apis": ["inference", "datasetio", "scoring", "eval"],
        "providers": {
            "inference": [entry("vllm", "remote::vllm", url=f"{url}/v1")],
            "datasetio": [entry("localfs", "inline::localfs")],
            "scoring": [entry("basic", "inline::basic")],
            "eval": [entry("eval", "inline::meta-reference", max_concurrency=concurrency, batch_size=32)],
        },
    }
    home = tempfile.mkdtemp(prefix="bench-eval-")
    with (
        StackServer(config, env={"STACK_HOME": home}) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        dataset = {
            "dataset_id": "bench",
            "purpose": "eval/messages-answer",
            "source": {"type": "rows", "rows": rows(count)},
        }
        client.post("/v1/datasets", json=dataset).raise_for_status()
        benchmark = {
            "benchmark_id": "bench",
            "dataset_id": "bench",
            "scoring_functions": ["basic::regex_parser_multiple_choice_answer"],
        }
        client.post("/v1/eval/benchmarks", json=benchmark).raise_for_status()
        candidate = {"type": "model", "model": "llm", "sampling_params": {"max_tokens": 64}}
        began = time.perf_counter()
        job = client.post(
            "/v1/eval/benchmarks/bench/jobs", json={"benchmark_config": {"eval_candidate": candidate}}
        ).json()
        while job["status"] not in ("completed", "failed", "cancelled"):
            time.sleep(0.02)
            job = client.get(f"/v1/eval/benchmarks/bench/jobs/{job['job_id']}").json()
        elapsed = time.perf_counter() - began
        if job["status"] != "completed":
            raise SystemExit(f"eval job {job['status']}: {job.get('error')}")
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=25.0)
    args = parser.parse_args()
    url, process = spawn_fake_backend(models="llm", latency_ms=args.latency_ms)
    try:
        direct_rate = asyncio.run(direct(url, args.rows, args.concurrency))
        stack_rate = through_stack(url, args.rows, args.concurrency)
    finally:
        process.terminate()
        process.wait(10)
    ratio = stack_rate / direct_rate
    print(f"{'rows':>6} {'conc':>5} {'direct rows/s':>14} {'stack rows/s':>13} {'ratio':>6}")
    print(
        f"{args.rows:>6} {args.concurrency:>5} {direct_rate:>14.1f} {stack_rate:>13.1f} {ratio:>6.2f}  (target >= 0.80)"
    )
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    result = {**vars(args), "direct_rows_per_s": direct_rate, "stack_rows_per_s": stack_rate, "ratio": ratio}
    (out / f"eval-{int(time.time())}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
