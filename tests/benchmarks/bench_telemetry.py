"""Telemetry's cost: chat c=32 (and a stream) with telemetry on vs off, in the same run.

    python tests/benchmarks/bench_telemetry.py [--duration 4] [--rounds 2]

"on": the ``inline::sqlite`` sink and ``remote::otlp`` exporting to a local OTLP/HTTP receiver
(``tests/support/otlp_receiver.py``, in this process), every trace sampled; "off":
``telemetry.enabled: false`` with the plugin installed. Both servers run side by side, pinned to
CPU 0 like ``bench.py``; rounds alternate between them so the machine's drift hits both. The table
gives each round's req/s and the on/off ratio (target: on >= 0.85 of off).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench import (
    CHAT,
    ROOT,
    STREAM,
    Result,
    print_table,
    run_scenario,
    spawn_fake_backend,
    stack_config,
    start_stack,
)
from otlp_receiver import OtlpReceiver  # tests/support, on the path bench.py set


def telemetry(config: dict[str, Any], otlp: str | None) -> dict[str, Any]:
    if otlp is None:
        return {**config, "telemetry": {"enabled": False}}
    sinks = [
        {"provider_id": "sqlite", "provider_type": "inline::sqlite"},
        {"provider_id": "otlp", "provider_type": "remote::otlp", "config": {"endpoint": otlp}},
    ]
    return {
        **config,
        "telemetry": {"sampling_ratio": 1.0},
        "providers": {**config["providers"], "telemetry": sinks},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    args = parser.parse_args()
    if os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
        os.sched_setaffinity(0, {1})
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"stack-bench-telemetry-{os.getpid()}"
    home.mkdir(parents=True)
    backend_url, backend = spawn_fake_backend(models="bench-llm", chunks=16)
    processes = [backend]
    rows: list[list[Result]] = []
    try:
        with OtlpReceiver() as receiver:
            servers = {}
            for name, otlp in (("off", None), ("on", receiver.url)):
                (home / name).mkdir()
                process, url, _ = start_stack(telemetry(stack_config(backend_url), otlp), home / name)
                processes.append(process)
                servers[name] = (url, process.pid)
            for n in range(args.rounds):
                for scenario, body, concurrency, stream in (
                    ("chat c=32", CHAT, 32, False),
                    ("stream16 c=16", STREAM, 16, True),
                ):
                    on, off = (
                        run_scenario(f"{scenario} #{n + 1}", target, servers[target][0], "/v1/chat/completions",
                                     body, concurrency, args.duration, servers[target][1], stream=stream)
                        for target in ("on", "off")
                    )  # fmt: skip
                    rows.append([on, off])
            time.sleep(2.0)
            exported = len(receiver.spans)
    finally:
        for process in processes:
            process.terminate()
            process.wait()
    print_table(rows)
    ratios = {
        scenario: statistics.median(on.rps / off.rps for on, off in rows if on.scenario.startswith(scenario))
        for scenario in ("chat c=32", "stream16 c=16")
    }
    print(f"\non/off req/s (median of rounds): {ratios}; spans received over OTLP: {exported}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"telemetry-{int(time.time())}.json").write_text(
        json.dumps({"ratios": ratios, "rows": [[r.summary() for r in row] for row in rows]}, indent=2)
    )


if __name__ == "__main__":
    main()
