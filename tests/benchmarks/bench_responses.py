"""Responses benchmark: one turn with one function-tool round trip through Stack vs the same two
chat calls made directly to the fake backend, in the same run.

    python tests/benchmarks/bench_responses.py [--duration 5]     # also part of `nox -s bench`

One operation is two requests made one after the other: through Stack, ``POST /v1/responses`` with
a function tool (the model calls it), then ``POST /v1/responses`` with ``previous_response_id`` and
the ``function_call_output`` (stored responses, the default); directly, the chat completion that
calls the tool, then the one given its result. Stack (one worker) is pinned to CPU 0, as in
``bench.py``. The two take turns (ten slices each, interleaved), so both meet the same moments of
a shared machine. Reported: p50 per operation at concurrency 1 and operations/s at 16, the p50 Stack
adds (target: at most 3 ms) and the ratios. JSON under ``bench-results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from bench import ROOT, start_stack
from fake_backend import spawn_fake_backend

MODEL = "bench-llm"
PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL = {"type": "function", "name": "get_weather", "parameters": PARAMETERS}
CHAT_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": PARAMETERS}}
QUESTION = "What is the weather in Oslo today?"
Op = Callable[[aiohttp.ClientSession], Awaitable[bool]]


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    async with session.post(url, json=body) as reply:
        reply.raise_for_status()
        return await reply.json()


def through_stack(stack: str) -> Op:
    async def op(session: aiohttp.ClientSession) -> bool:
        url = f"{stack}/v1/responses"
        first = await post(session, url, {"model": MODEL, "input": QUESTION, "tools": [TOOL]})
        answer = {"type": "function_call_output", "call_id": first["output"][0]["call_id"], "output": "sunny"}
        body = {"model": MODEL, "previous_response_id": first["id"], "input": [answer], "tools": [TOOL]}
        second = await post(session, url, body)
        return bool(second["status"] == "completed")

    return op


def direct(backend: str) -> Op:
    async def op(session: aiohttp.ClientSession) -> bool:
        url = f"{backend}/v1/chat/completions"
        messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
        first = await post(session, url, {"model": MODEL, "messages": messages, "tools": [CHAT_TOOL]})
        message = first["choices"][0]["message"]
        result = {"role": "tool", "tool_call_id": message["tool_calls"][0]["id"], "content": "sunny"}
        body = {"model": MODEL, "messages": [*messages, message, result], "tools": [CHAT_TOOL]}
        second = await post(session, url, body)
        return bool(second["choices"][0]["finish_reason"] == "stop")

    return op


async def drive(op: Op, concurrency: int, seconds: float, latencies: list[float]) -> tuple[int, float]:
    """Run ``op`` from ``concurrency`` workers for ``seconds``, adding each latency (ms) to
    ``latencies``: (errors, the seconds it took)."""
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                ok = await op(session)
            except (aiohttp.ClientError, KeyError, IndexError):
                ok = False
            latencies.append((time.perf_counter() - began) * 1000)
            errors += 0 if ok else 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return errors, time.perf_counter() - started


def measure(ops: dict[str, Op], concurrency: int, duration: float, slices: int = 10) -> dict[str, Any]:
    """Each op for ``duration`` seconds in all, in ``slices`` turns taken one after the other, so
    that Stack and its baseline see the same moments of a shared, noisy machine."""
    for op in ops.values():  # warm-up
        asyncio.run(drive(op, concurrency, min(1.0, duration / 3), []))
    latencies: dict[str, list[float]] = {name: [] for name in ops}
    errors = dict.fromkeys(ops, 0)
    seconds = dict.fromkeys(ops, 0.0)
    for _ in range(slices):
        for name, op in ops.items():
            failed, took = asyncio.run(drive(op, concurrency, duration / slices, latencies[name]))
            errors[name] += failed
            seconds[name] += took
    results = {}
    for name, found in latencies.items():
        ordered = sorted(found)
        results[name] = {
            "ops": len(found),
            "errors": errors[name],
            "ops_per_s": len(found) / seconds[name],
            "p50_ms": statistics.median(ordered) if ordered else float("nan"),
            "p90_ms": ordered[int(0.9 * len(ordered))] if ordered else float("nan"),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    args = parser.parse_args()
    backend_url, backend = spawn_fake_backend(models=MODEL)
    with tempfile.TemporaryDirectory() as home:
        config = {
            "version": 2,
            "providers": {
                "inference": [
                    {
                        "provider_id": "fake",
                        "provider_type": "remote::vllm",
                        "config": {"url": f"{backend_url}/v1"},
                    }
                ],
                "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
            },
        }
        stack, stack_url, _ = start_stack(config, Path(home))
        try:
            ops = {"direct": direct(backend_url), "stack": through_stack(stack_url)}
            results = {
                f"{target}@c{c}": figures
                for c in (1, 16)
                for target, figures in measure(ops, c, args.duration).items()
            }
        finally:
            stack.terminate()
            stack.wait(10)
            backend.terminate()
            backend.wait(10)
    added = results["stack@c1"]["p50_ms"] - results["direct@c1"]["p50_ms"]
    summary = {
        "p50_added_ms_c1": added,
        "p50_ratio_c1": results["stack@c1"]["p50_ms"] / results["direct@c1"]["p50_ms"],
        "throughput_ratio_c16": results["stack@c16"]["ops_per_s"] / results["direct@c16"]["ops_per_s"],
        "target_met": added <= 3.0,
    }
    print(f"{'target':<12}{'ops':>7}{'err':>5}{'ops/s':>9}{'p50 ms':>9}{'p90 ms':>9}")
    for name, r in results.items():
        print(
            f"{name:<12}{r['ops']:>7}{r['errors']:>5}{r['ops_per_s']:>9.1f}{r['p50_ms']:>9.2f}{r['p90_ms']:>9.2f}"
        )
    print(json.dumps(summary, indent=2))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "responses.json").write_text(json.dumps({"results": results, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
