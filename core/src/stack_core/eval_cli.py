"""``stack eval``: run benchmarks and scoring against a running stack over HTTP.

``run-benchmark`` starts one eval job per benchmark (``POST /v1/eval/benchmarks/{id}/jobs``),
draws its progress (rows done of total, rows/s, ETA, the accuracy of the rows done) from the job's
status, and writes each benchmark's result as JSON and all of them as one HTML report
(``stack_core.eval_report``).
``run-scoring`` scores a registered dataset's rows (``POST /v1/scoring/score-batch``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import httpx
import orjson

from .errors import StackError
from .eval_report import headline, write_html, write_json

__all__ = ["add_eval_parser"]


def _reply(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text
        raise StackError(f"{response.request.method} {response.request.url.path}: {message}")
    return response.json() if response.content else None


class Progress:
    """One line redrawn in place: a bar, rows done of total, rows/s, the time left and the running
    accuracy (the provider's score of the rows done by the first scoring function)."""

    def __init__(self, label: str, out: TextIO = sys.stderr) -> None:
        self.label, self.out, self.began = label, out, time.monotonic()

    def draw(self, done: int, total: int | None, accuracy: float | None = None) -> None:
        elapsed = max(time.monotonic() - self.began, 1e-6)
        rate = done / elapsed
        share = done / total if total else 0.0
        bar = "#" * int(share * 30)
        eta = f"{(total - done) / rate:.0f}s" if total and rate > 0 else "?"
        score = f" acc {accuracy:.4f}" if accuracy is not None else ""
        line = f"\r{self.label} [{bar:<30}] {done}/{total or '?'} {rate:.1f} rows/s ETA {eta}{score}  "
        self.out.write(line)
        self.out.flush()

    def close(self, note: str) -> None:
        self.out.write(f" {note}\n")
        self.out.flush()


def _run_one(client: httpx.Client, benchmark_id: str, config: dict[str, Any], poll: float) -> dict[str, Any]:
    base = f"/v1/eval/benchmarks/{benchmark_id}"
    job = _reply(client.post(f"{base}/jobs", json={"benchmark_config": config}))
    progress = Progress(benchmark_id)
    while job["status"] not in ("completed", "failed", "cancelled"):
        time.sleep(poll)
        job = _reply(client.get(f"{base}/jobs/{job['job_id']}"))
        progress.draw(int(job.get("rows_done") or 0), job.get("rows_total"), job.get("running_accuracy"))
    if job["status"] != "completed":
        progress.close(job["status"])
        raise StackError(f"benchmark {benchmark_id}: job {job['job_id']} {job['status']}: {job.get('error')}")
    result: dict[str, Any] = _reply(client.get(f"{base}/jobs/{job['job_id']}/result"))
    found = headline(result)
    progress.close(f"{found[0]} {found[1]:.4f}" if found else "done")
    return {"job_id": job["job_id"], **result}


def cmd_run_benchmark(args: argparse.Namespace) -> None:
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    candidate = {
        "type": "model",
        "model": args.model_id,
        "sampling_params": {"strategy": {"type": "greedy"}, "max_tokens": args.max_tokens},
    }
    if args.system_message:
        candidate["system_message"] = {"role": "system", "content": args.system_message}
    config: dict[str, Any] = {"eval_candidate": candidate}
    if args.num_examples:
        config["num_examples"] = args.num_examples
    summaries = []
    with httpx.Client(base_url=args.url, timeout=args.timeout) as client:
        for benchmark_id in args.benchmark_ids:
            result = _run_one(client, benchmark_id, config, args.poll_interval)
            summary = {
                "benchmark_id": benchmark_id,
                "model_id": args.model_id,
                "num_rows": len(result.get("generations", [])),
                **result,
            }
            print(f"wrote {write_json(output, benchmark_id, summary)}")
            summaries.append(summary)
    print(f"wrote {write_html(output, args.model_id, summaries)}")


def cmd_run_scoring(args: argparse.Namespace) -> None:
    functions = {name: None for name in args.scoring_functions}
    body = {"dataset_id": args.dataset_id, "scoring_functions": functions, "save_results_dataset": args.save}
    with httpx.Client(base_url=args.url, timeout=args.timeout) as client:
        result = _reply(client.post("/v1/scoring/score-batch", json=body))
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2).decode()
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    else:
        print(text)


def add_eval_parser(sub: Any) -> None:
    """``stack eval run-benchmark|run-scoring``."""
    evaluation = sub.add_parser("eval", help="run benchmarks and scoring against a running stack")
    eval_sub = evaluation.add_subparsers(dest="eval_command", required=True)
    bench = eval_sub.add_parser("run-benchmark", help="run benchmarks; write JSON results and an HTML report")
    bench.add_argument(
        "benchmark_ids", nargs="+", metavar="benchmark_id", help="registered benchmarks to run"
    )
    bench.add_argument("--model-id", required=True, help="the candidate model (a registered model)")
    bench.add_argument("--output-dir", required=True, help="where the JSON results and report.html go")
    bench.add_argument("--num-examples", type=int, help="only the first N rows of each benchmark")
    bench.add_argument("--max-tokens", type=int, default=4096, help="the candidate's max_tokens")
    bench.add_argument("--system-message", help="a system message for the candidate")
    bench.set_defaults(func=cmd_run_benchmark)
    scoring = eval_sub.add_parser("run-scoring", help="score a registered dataset's rows")
    scoring.add_argument("dataset_id", help="a registered dataset with expected_answer and generated_answer")
    scoring.add_argument(
        "--scoring-functions", nargs="+", required=True, metavar="ID", help="scoring functions"
    )
    scoring.add_argument("--save", action="store_true", help="save the scored rows as a new dataset")
    scoring.add_argument("--output", help="write the results JSON here (default: stdout)")
    scoring.set_defaults(func=cmd_run_scoring)
    for command in (bench, scoring):
        command.add_argument("--url", default="http://localhost:8321", help="the stack's URL")
        command.add_argument("--timeout", type=float, default=600.0, help="seconds per HTTP call")
    bench.add_argument("--poll-interval", type=float, default=0.5, help="seconds between status polls")
