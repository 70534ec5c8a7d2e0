"""Gateway benchmark: Stack in front of the fake backend vs the fake backend called directly.

    nox -s bench                      # or: python tests/benchmarks/bench.py [--duration 5]

Stack (Hypercorn, one worker) is pinned to CPU 0; the fake backend and this load generator share
CPU 1. Each scenario runs for a fixed time at a fixed concurrency against Stack, against a bare
proxy on Stack's own libraries (``bare_proxy.py``, also on CPU 0: the floor those libraries set)
and against the backend directly; the table reports req/s, p50/p90/p99, server CPU per request
(from the server's own /proc stat), errors and the ratio to direct. Idle RSS is read from Stack
and the bare proxy after the same load. Results are also written as JSON under ``bench-results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from auth_endpoint import spawn_auth_endpoint  # noqa: E402
from fake_backend import spawn_fake_backend  # noqa: E402

from stack_core.testing import free_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
CHAT = {"model": "bench-llm", "messages": [{"role": "user", "content": "Hello there, how are you today?"}]}
STREAM = {**CHAT, "stream": True}
EMBED = {"model": "bench-embed", "input": [f"sentence {i} about benchmarks" for i in range(8)]}


@dataclass
class Result:
    scenario: str
    target: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    cpu_ms_per_request: float | None = None
    ttft_ms: list[float] = field(default_factory=list, repr=False)
    chunks: int = 0
    done_seen: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float, values: list[float] | None = None) -> float:
        data = sorted(values if values is not None else self.latencies_ms)
        return data[min(len(data) - 1, int(p / 100 * len(data)))] if data else float("nan")

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("latencies_ms", "ttft_ms")}
        out.update(rps=self.rps, p50=self.pct(50), p90=self.pct(90), p99=self.pct(99))
        if self.ttft_ms:
            out.update(ttft_p50=self.pct(50, self.ttft_ms), chunks_per_s=self.chunks / self.seconds)
        return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def drive(
    result: Result,
    url: str,
    body: dict[str, Any] | None,
    concurrency: int,
    duration: float,
    headers: dict[str, str],
    stream: bool = False,
) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    deadline = time.perf_counter() + duration
    payload = json.dumps(body).encode() if body is not None else None
    hdrs = {"content-type": "application/json", **headers}

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                if payload is None:
                    async with session.get(url, headers=hdrs) as response:
                        await response.read()
                        ok = response.status == 200
                else:
                    async with session.post(url, data=payload, headers=hdrs) as response:
                        if stream:
                            ok = await read_stream(response, began, result)
                        else:
                            await response.read()
                            ok = response.status == 200
            except aiohttp.ClientError:
                ok = False
            result.latencies_ms.append((time.perf_counter() - began) * 1000)
            result.requests += 1
            result.errors += 0 if ok else 1

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started


async def read_stream(response: aiohttp.ClientResponse, began: float, result: Result) -> bool:
    first = True
    async for line in response.content:
        if not line.startswith(b"data:"):
            continue
        if first:
            result.ttft_ms.append((time.perf_counter() - began) * 1000)
            first = False
        if line.strip() == b"data: [DONE]":
            result.done_seen += 1
        else:
            result.chunks += 1
    return response.status == 200


def run_scenario(
    name: str,
    target: str,
    base: str,
    path: str,
    body: dict[str, Any] | None,
    concurrency: int,
    duration: float,
    pid: int | None,
    headers: dict[str, str] | None = None,
    stream: bool = False,
) -> Result:
    result = Result(name, target)
    warm = Result(name, target)
    asyncio.run(drive(warm, base + path, body, concurrency, min(1.0, duration / 3), headers or {}, stream))
    before = cpu_seconds(pid) if pid else 0.0
    asyncio.run(drive(result, base + path, body, concurrency, duration, headers or {}, stream))
    if pid and result.requests:
        result.cpu_ms_per_request = (cpu_seconds(pid) - before) * 1000 / result.requests
    return result


def pinned(cpu: int, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *command] if os.cpu_count() and os.cpu_count() > 1 else command  # type: ignore[operator]


def start_stack(config: dict[str, Any], home: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    path = home / f"run-{free_port()}.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    env = {**os.environ, "STACK_HOME": str(home), "STACK_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "stack_core.cli", "run", str(path), "--port", str(port)]
    return serving(command, f"http://127.0.0.1:{port}", "/v1/health", env)


def start_bare(backend: str, home: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    """The floor: a bare proxy on Stack's libraries (``bare_proxy.py``), pinned like Stack."""
    port = free_port()
    script = Path(__file__).with_name("bare_proxy.py")
    command = [sys.executable, str(script), backend, str(port), str(home)]
    return serving(command, f"http://127.0.0.1:{port}", "/v1/models", dict(os.environ))


def serving(
    command: list[str], url: str, ready: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start ``command`` on CPU 0 and wait for a 200 from ``ready``: the process, ``url`` and the
    seconds from spawn to that first 200."""
    import urllib.request

    began = time.perf_counter()
    process = subprocess.Popen(
        pinned(0, command), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    while True:
        try:
            with urllib.request.urlopen(url + ready, timeout=0.5) as response:
                if response.status == 200:
                    return process, url, time.perf_counter() - began
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{command[1]} exited during start-up") from None
            time.sleep(0.01)


def import_time() -> float:
    code = "import time; t=time.perf_counter(); import stack_core; print(time.perf_counter()-t)"
    samples = [
        float(
            subprocess.check_output(
                [sys.executable, "-X", "importtime", "-c", code], stderr=subprocess.DEVNULL
            )
        )
        for _ in range(3)
    ]
    return statistics.median(samples) * 1000


def stack_config(backend: str, auth_url: str | None = None, quota: bool = False) -> dict[str, Any]:
    config: dict[str, Any] = {
        "version": 2,
        "providers": {
            "inference": [
                {"provider_id": "fake", "provider_type": "remote::vllm", "config": {"url": f"{backend}/v1"}}
            ]
        },
    }
    if auth_url:
        config["server"] = {"auth": {"provider_config": {"type": "custom", "endpoint": auth_url}}}
    if quota:
        config.setdefault("server", {})["quota"] = {
            "kvstore": {"type": "sqlite"},
            "anonymous_max_requests": 10**9,
            "authenticated_max_requests": 10**9,
            "period": "day",
        }
    return config


def print_table(rows: list[list[Result]]) -> None:
    """One block per scenario; ``ratio`` is each row's req/s over the block's last row (the backend
    called directly, or for auth+quota the plain stack measured right after)."""
    header = f"{'scenario':<22}{'target':<8}{'req/s':>9}{'p50':>8}{'p90':>8}{'p99':>8}{'cpu ms/req':>11}{'err':>6}{'ratio':>8}  extra"
    print(header)
    print("-" * len(header))
    for row in rows:
        base = row[-1]
        for result in row:
            s = result.summary()
            ratio = f"{result.rps / base.rps:.2f}" if result is not base and base.rps else ""
            cpu = f"{s['cpu_ms_per_request']:.3f}" if s["cpu_ms_per_request"] is not None else ""
            extra = (
                f"ttft p50 {s['ttft_p50']:.2f}ms, {s['chunks_per_s']:.0f} chunks/s, [DONE] {s['done_seen']}/{s['requests']}"
                if "ttft_p50" in s
                else ""
            )
            print(
                f"{result.scenario:<22}{result.target:<8}{s['rps']:>9.0f}{s['p50']:>8.2f}{s['p90']:>8.2f}"
                f"{s['p99']:>8.2f}{cpu:>11}{s['errors']:>6}{ratio:>8}  {extra}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    args = parser.parse_args()
    if os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
        os.sched_setaffinity(0, {1})
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"stack-bench-{os.getpid()}"
    home.mkdir(parents=True)
    backend_url, backend = spawn_fake_backend(models="bench-llm", embedding_models="bench-embed", chunks=64)
    auth_url, auth = spawn_auth_endpoint()
    processes = [backend, auth]
    rows: list[list[Result]] = []
    extra: dict[str, Any] = {}
    try:
        stack, stack_url, cold = start_stack(stack_config(backend_url), home)
        processes.append(stack)
        bare, bare_url, _ = start_bare(backend_url, home)
        processes.append(bare)
        d = args.duration
        scenarios = [
            ("chat c=1", "/v1/chat/completions", CHAT, 1, False),
            ("chat c=32", "/v1/chat/completions", CHAT, 32, False),
            ("stream64 c=16", "/v1/chat/completions", STREAM, 16, True),
            ("stream64 c=1", "/v1/chat/completions", STREAM, 1, True),
            ("embeddings 8x384 c=16", "/v1/embeddings", EMBED, 16, False),
            ("models c=16", "/v1/models", None, 16, False),
        ]
        for name, path, body, concurrency, stream in scenarios:
            rows.append(
                [
                    run_scenario(name, target, url, path, body, concurrency, d, pid, stream=stream)
                    for target, url, pid in (
                        ("stack", stack_url, stack.pid),
                        ("bare", bare_url, bare.pid),
                        ("direct", backend_url, None),
                    )
                ]
            )
        time.sleep(6.0)  # idle: past the 5 s keep-alive, the load's connections are released
        extra["idle_rss_mib"] = rss_mib(stack.pid)
        extra["bare_idle_rss_mib"] = rss_mib(bare.pid)
        extra["cold_start_s"] = cold
        secured, secured_url, _ = start_stack(
            stack_config(backend_url, auth_url + "/validate", quota=True), home
        )
        processes.append(secured)
        headers = {"authorization": "Bearer bench-token"}
        guarded = run_scenario(
            "chat c=32 auth+quota",
            "stack",
            secured_url,
            "/v1/chat/completions",
            CHAT,
            32,
            d,
            secured.pid,
            headers=headers,
        )
        # the baseline again, right after: the machine's speed drifts over a run
        again = run_scenario("chat c=32", "stack", stack_url, "/v1/chat/completions", CHAT, 32, d, stack.pid)
        rows.append([guarded, again])
        extra["import_stack_core_ms"] = import_time()
    finally:
        for process in processes:
            process.terminate()
            process.wait()
    print_table(rows)
    print(
        f"\ncold start {extra['cold_start_s'] * 1000:.0f} ms, idle RSS {extra['idle_rss_mib']:.1f} MiB "
        f"(the bare proxy {extra['bare_idle_rss_mib']:.1f} MiB), "
        f"import stack_core {extra['import_stack_core_ms']:.0f} ms"
    )
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "rows": [[r.summary() for r in row] for row in rows],
        **extra,
    }
    target = out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.write_text(json.dumps(report, indent=2))
    print(f"results: {target}")


if __name__ == "__main__":
    main()
