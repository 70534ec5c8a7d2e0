"""The evaluation lifecycle end to end with ``llama-stack-client==0.2.12`` on ``stack run``: datasets
from a data: CSV, a file:// JSONL and rows, paged and appended to; scoring with basic functions and
a judge model on the fake backend, score-batch saving a results dataset; a benchmark run as a job
whose accuracy matches the hand-computed value; a job killed mid-way with its server that finishes
after a restart with every row answered once."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from backends import fake_backend
from llama_stack_client import LlamaStackClient, NotFoundError

from stack_core.testing import StackServer

QUESTIONS = [  # the fake model echoes the question: its "Answer: X" is what gets parsed
    ("What is 2+2? Answer: B", "B"),
    ("Capital of France? Answer: C", "A"),
    ("Largest planet? Answer: A", "A"),
    ("Boiling point of water? I am not sure.", "D"),
]
ACCURACY = 0.5  # rows 1 and 3 are right


def mmlu_rows(count: int = len(QUESTIONS)) -> list[dict[str, Any]]:
    return [
        {
            "input_query": question,
            "chat_completion_input": json.dumps(
                [{"role": "system", "content": "Be brief."}, {"role": "user", "content": question}]
            ),
            "expected_answer": answer,
        }
        for question, answer in (QUESTIONS * (count // len(QUESTIONS) + 1))[:count]
    ]


def config(backend: str, **eval_config: Any) -> dict[str, Any]:
    def entry(pid: str, ptype: str, **cfg: Any) -> dict[str, Any]:
        return {"provider_id": pid, "provider_type": ptype, "config": cfg}

    return {
        "version": 2,
        "apis": ["inference", "datasetio", "scoring", "eval", "agents"],
        "providers": {
            "inference": [entry("vllm", "remote::vllm", url=f"{backend}/v1")],
            "agents": [entry("agents", "inline::meta-reference")],
            "datasetio": [entry("localfs", "inline::localfs")],
            "scoring": [entry("basic", "inline::basic"), entry("llm-as-judge", "inline::llm-as-judge")],
            "eval": [entry("meta-reference", "inline::meta-reference", **eval_config)],
        },
    }


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    with fake_backend(models="llm") as url:
        yield url


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    env = {"STACK_HOME": str(tmp_path_factory.mktemp("home"))}
    with StackServer(config(backend), env=env) as server:
        yield server


@pytest.fixture
def client(server: StackServer) -> Iterator[LlamaStackClient]:
    with LlamaStackClient(base_url=server.url) as client:
        yield client


def all_rows(client: LlamaStackClient, dataset_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = client.datasets.iterrows(dataset_id, start_index=len(rows), limit=2)
        rows += page.data
        if not page.has_more:
            return rows


def test_datasets_register_page_and_append(
    client: LlamaStackClient, server: StackServer, tmp_path: Path
) -> None:
    rows = [{"input_query": f"q{i}", "expected_answer": f"a{i}"} for i in range(5)]
    csv = "input_query,expected_answer\n" + "".join(
        f"{r['input_query']},{r['expected_answer']}\n" for r in rows
    )
    jsonl = tmp_path / "qa.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    sources = {
        "qa-csv": {"type": "uri", "uri": "data:text/csv;base64," + base64.b64encode(csv.encode()).decode()},
        "qa-jsonl": {"type": "uri", "uri": jsonl.as_uri()},
        "qa-rows": {"type": "rows", "rows": rows},
    }
    for dataset_id, source in sources.items():
        client.datasets.register(purpose="eval/question-answer", source=source, dataset_id=dataset_id)  # type: ignore[arg-type]
        assert client.datasets.retrieve(dataset_id).source.type == source["type"]
        assert all_rows(client, dataset_id) == rows
        more = [{"input_query": "late", "expected_answer": "x"}]
        reply = httpx.post(f"{server.url}/v1/datasetio/append-rows/{dataset_id}", json={"rows": more})
        assert reply.status_code == 204, reply.text
        assert all_rows(client, dataset_id) == rows + more
    assert {"qa-csv", "qa-jsonl", "qa-rows"} <= {d.identifier for d in client.datasets.list()}


def test_scoring_with_basic_functions_and_a_judge(client: LlamaStackClient) -> None:
    rows = [
        {"input_query": "3", "expected_answer": "Paris", "generated_answer": "Paris"},
        {"input_query": "5", "expected_answer": "Paris", "generated_answer": "Paris "},
        {"input_query": "5", "expected_answer": "paris", "generated_answer": "Paris is nice"},
    ]
    judge = {
        "type": "llm_as_judge",
        "judge_model": "llm",
        "prompt_template": "Rate the answer. Score: {input_query}",
        "judge_score_regexes": [r"Score: (\d)"],
        "aggregation_functions": ["categorical_count"],
    }
    functions = {"basic::equality": None, "basic::subset_of": None, "llm-as-judge::base": judge}
    results = client.scoring.score(input_rows=rows, scoring_functions=functions).results  # type: ignore[arg-type]
    assert [r["score"] for r in results["basic::equality"].score_rows] == [1.0, 0.0, 0.0]
    assert results["basic::equality"].aggregated_results["accuracy"] == pytest.approx(1 / 3)
    assert results["basic::subset_of"].aggregated_results == {
        "accuracy": pytest.approx(2 / 3),
        "num_correct": 2.0,
        "num_total": 3,
    }
    judged = results["llm-as-judge::base"]
    assert [r["score"] for r in judged.score_rows] == ["3", "5", "5"]
    assert judged.aggregated_results == {"categorical_count": {"3": 1, "5": 2}}
    assert "[llm] echo: Rate the answer. Score: 3" in judged.score_rows[0]["judge_feedback"]
    with pytest.raises(NotFoundError, match="nope::a, nope::b"):
        client.scoring.score(
            input_rows=rows, scoring_functions={"nope::a": None, "basic::equality": None, "nope::b": None}
        )
    assert {"basic::equality", "llm-as-judge::base", "llm-as-judge::405b-simpleqa"} <= {
        f.identifier for f in client.scoring_functions.list()
    }


def test_score_batch_saves_a_results_dataset(client: LlamaStackClient) -> None:
    rows = [
        {"expected_answer": "a", "generated_answer": "a"},
        {"expected_answer": "a", "generated_answer": "b"},
    ]
    client.datasets.register(
        purpose="eval/question-answer", source={"type": "rows", "rows": rows}, dataset_id="answers"
    )
    reply = client.scoring.score_batch(
        dataset_id="answers", save_results_dataset=True, scoring_functions={"basic::equality": None}
    )
    assert reply.results["basic::equality"].aggregated_results["accuracy"] == 0.5
    assert reply.dataset_id is not None
    saved = all_rows(client, reply.dataset_id)
    assert [r["basic::equality"]["score"] for r in saved] == [1.0, 0.0] and saved[0][
        "generated_answer"
    ] == "a"


def wait_for(client: LlamaStackClient, benchmark_id: str, job_id: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.eval.jobs.status(job_id, benchmark_id=benchmark_id)
        assert job is not None
        if job.status in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


CANDIDATE = {
    "type": "model",
    "model": "llm",
    "sampling_params": {"strategy": {"type": "greedy"}, "max_tokens": 200},
    "system_message": {"role": "system", "content": "You answer multiple choice questions."},
}


def test_a_benchmark_runs_as_a_job(client: LlamaStackClient) -> None:
    client.datasets.register(
        purpose="eval/messages-answer", source={"type": "rows", "rows": mmlu_rows()}, dataset_id="mmlu-mini"
    )
    client.benchmarks.register(
        benchmark_id="mmlu-mini",
        dataset_id="mmlu-mini",
        scoring_functions=["basic::regex_parser_multiple_choice_answer"],
    )
    assert client.benchmarks.retrieve("mmlu-mini").dataset_id == "mmlu-mini"
    job = client.eval.run_eval("mmlu-mini", benchmark_config={"eval_candidate": CANDIDATE})  # type: ignore[typeddict-item]
    assert job.status == "scheduled"
    assert wait_for(client, "mmlu-mini", job.job_id).status == "completed"
    result = client.eval.jobs.retrieve(job.job_id, benchmark_id="mmlu-mini")
    assert [g["generated_answer"] for g in result.generations] == [f"[llm] echo: {q}" for q, _ in QUESTIONS]
    aggregate = result.scores["basic::regex_parser_multiple_choice_answer"].aggregated_results
    assert aggregate == {"accuracy": ACCURACY, "num_correct": 2.0, "num_total": 4}
    first = client.eval.run_eval(
        "mmlu-mini", benchmark_config={"eval_candidate": CANDIDATE, "num_examples": 1}
    )  # type: ignore[typeddict-item]
    one = client.eval.jobs.retrieve(
        wait_for(client, "mmlu-mini", first.job_id).job_id, benchmark_id="mmlu-mini"
    )
    assert len(one.generations) == 1
    rows = client.eval.evaluate_rows(
        "mmlu-mini",
        input_rows=mmlu_rows()[::3],
        scoring_functions=["basic::subset_of"],
        benchmark_config={"eval_candidate": CANDIDATE},  # type: ignore[typeddict-item]
    )
    assert [r["score"] for r in rows.scores["basic::subset_of"].score_rows] == [1.0, 0.0]


AGENT = {"type": "agent", "config": {"model": "llm", "instructions": "You answer multiple choice questions."}}


def test_an_agent_candidate_answers_with_a_turn_per_row(
    client: LlamaStackClient, server: StackServer
) -> None:
    client.datasets.register(
        purpose="eval/messages-answer", source={"type": "rows", "rows": mmlu_rows()}, dataset_id="mmlu-agent"
    )
    client.benchmarks.register(
        benchmark_id="mmlu-agent",
        dataset_id="mmlu-agent",
        scoring_functions=["basic::regex_parser_multiple_choice_answer"],
    )
    agents = f"{server.url}/v1/agents"
    agents_before = httpx.get(agents).json()["data"]
    job = client.eval.run_eval("mmlu-agent", benchmark_config={"eval_candidate": AGENT})  # type: ignore[typeddict-item]
    assert wait_for(client, "mmlu-agent", job.job_id).status == "completed"
    result = client.eval.jobs.retrieve(job.job_id, benchmark_id="mmlu-agent")
    assert [g["generated_answer"] for g in result.generations] == [f"[llm] echo: {q}" for q, _ in QUESTIONS]
    aggregate = result.scores["basic::regex_parser_multiple_choice_answer"].aggregated_results
    assert aggregate["accuracy"] == ACCURACY
    rows = client.eval.evaluate_rows(
        "mmlu-agent",
        input_rows=mmlu_rows()[::3],
        scoring_functions=["basic::subset_of"],
        benchmark_config={"eval_candidate": AGENT},  # type: ignore[typeddict-item]
    )
    assert [r["score"] for r in rows.scores["basic::subset_of"].score_rows] == [1.0, 0.0]
    assert httpx.get(agents).json()["data"] == agents_before  # each run's agent deleted
    bad = {"eval_candidate": {"type": "agent", "config": {"instructions": "no model"}}}
    reply = httpx.post(f"{server.url}/v1/eval/benchmarks/mmlu-agent/jobs", json={"benchmark_config": bad})
    assert reply.status_code == 400 and "model" in reply.json()["error"]["message"]


def test_an_agent_candidate_needs_an_agents_provider(backend: str, tmp_path: Path) -> None:
    no_agents = config(backend)
    no_agents["apis"].remove("agents")
    del no_agents["providers"]["agents"]
    with StackServer(no_agents, env={"STACK_HOME": str(tmp_path)}) as server:
        rows = {"type": "rows", "rows": mmlu_rows()}
        body = {"purpose": "eval/messages-answer", "source": rows, "dataset_id": "d"}
        httpx.post(f"{server.url}/v1/datasets", json=body).raise_for_status()
        body = {"benchmark_id": "b", "dataset_id": "d", "scoring_functions": ["basic::equality"]}
        httpx.post(f"{server.url}/v1/eval/benchmarks", json=body).raise_for_status()
        run = {"benchmark_config": {"eval_candidate": AGENT}}
        reply = httpx.post(f"{server.url}/v1/eval/benchmarks/b/jobs", json=run)
        assert reply.status_code == 400 and "agents provider" in reply.json()["error"]["message"]


def test_a_job_killed_with_its_server_finishes_after_restart(backend: str, tmp_path: Path) -> None:
    count = 60
    env = {"STACK_HOME": str(tmp_path / "home")}
    slow = config(backend, max_concurrency=4, batch_size=4)
    httpx.post(f"{backend}/__control", json={"latency_ms": 60}).raise_for_status()
    try:
        with StackServer(slow, env=env) as first, LlamaStackClient(base_url=first.url) as client:
            client.datasets.register(
                purpose="eval/messages-answer",
                source={"type": "rows", "rows": mmlu_rows(count)},
                dataset_id="big",
            )
            client.benchmarks.register(
                benchmark_id="big",
                dataset_id="big",
                scoring_functions=["basic::regex_parser_multiple_choice_answer"],
            )
            job = client.eval.run_eval("big", benchmark_config={"eval_candidate": CANDIDATE})  # type: ignore[typeddict-item]
            deadline = time.monotonic() + 30
            while (
                status := client.eval.jobs.status(job.job_id, benchmark_id="big")
            ) is not None and status.rows_done < 8:  # type: ignore[attr-defined]
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert status is not None and 0.0 <= status.running_accuracy <= 1.0  # type: ignore[attr-defined]
            assert first.process is not None
            os.kill(first.process.pid, signal.SIGKILL)
            first.process.wait(10)
        httpx.post(f"{backend}/__control", json={"latency_ms": 0}).raise_for_status()
        with StackServer(slow, env=env) as second, LlamaStackClient(base_url=second.url) as client:
            done = wait_for(client, "big", job.job_id, timeout=120)
            assert done.status == "completed"
            assert done.running_accuracy == ACCURACY  # type: ignore[attr-defined]  # each row scored once
            result = client.eval.jobs.retrieve(job.job_id, benchmark_id="big")
            assert [g["generated_answer"] for g in result.generations] == [
                f"[llm] echo: {r['input_query']}" for r in mmlu_rows(count)
            ]
            aggregate = result.scores["basic::regex_parser_multiple_choice_answer"].aggregated_results
            assert aggregate["num_total"] == count and aggregate["accuracy"] == ACCURACY
    finally:
        httpx.post(f"{backend}/__control", json={"latency_ms": 0})


def test_stack_eval_run_benchmark_writes_json_and_an_html_report(
    client: LlamaStackClient, server: StackServer, tmp_path: Path
) -> None:
    mmlu = tmp_path / "mmlu.jsonl"
    mmlu.write_text("".join(json.dumps(r) + "\n" for r in mmlu_rows(8)))
    client.datasets.register(
        purpose="eval/messages-answer", source={"type": "uri", "uri": mmlu.as_uri()}, dataset_id="mmlu-file"
    )
    client.benchmarks.register(
        benchmark_id="mmlu-file",
        dataset_id="mmlu-file",
        scoring_functions=["basic::regex_parser_multiple_choice_answer"],
    )
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "stack_core.cli",
        "eval",
        "run-benchmark",
        "mmlu-file",
        "--model-id",
        "llm",
    ]
    command += ["--output-dir", str(out), "--num-examples", "4", "--url", server.url, "--max-tokens", "200"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "4/4" in done.stderr and "rows/s" in done.stderr and "accuracy 0.5000" in done.stderr
    running = re.findall(r" acc ([\d.]+)", done.stderr)  # the progress line's accuracy of the rows done
    assert running and float(running[-1]) == ACCURACY, done.stderr
    result = json.loads((out / "mmlu-file.json").read_text())
    assert (
        result["scores"]["basic::regex_parser_multiple_choice_answer"]["aggregated_results"]["accuracy"]
        == ACCURACY
    )
    assert result["num_rows"] == 4 and result["model_id"] == "llm"
    report = out / "report.html"
    assert "http" not in report.read_text().replace("http://www.w3.org/2000/svg", "")  # self-contained
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--dump-dom"]
    dom = subprocess.run(
        [browser, *flags, f"--user-data-dir={tmp_path / 'profile'}", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    bars = re.findall(r'<rect class="bar"[^>]* width="([\d.]+)"', dom)
    assert len(bars) == 1 and float(bars[0]) > 0, dom[-2000:]
    assert "mmlu-file" in dom and "0.500" in dom


def test_stack_eval_run_scoring(client: LlamaStackClient, server: StackServer, tmp_path: Path) -> None:
    rows = [
        {"expected_answer": "a", "generated_answer": "a"},
        {"expected_answer": "b", "generated_answer": "a"},
    ]
    client.datasets.register(
        purpose="eval/question-answer", source={"type": "rows", "rows": rows}, dataset_id="to-score"
    )
    out = tmp_path / "scores.json"
    command = [
        sys.executable,
        "-m",
        "stack_core.cli",
        "eval",
        "run-scoring",
        "to-score",
        "--scoring-functions",
    ]
    command += ["basic::equality", "--url", server.url, "--output", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["results"]["basic::equality"]["aggregated_results"]["accuracy"] == 0.5
