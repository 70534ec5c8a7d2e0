#!/usr/bin/env python3
"""Fuzz a served stack with schemathesis: ``stack run`` over the fake backend with a model, an
embedding model, a vector DB, files, vector stores and a shield; every operation of
``/openapi.json`` gets ``--max-examples`` generated requests (valid and invalid). Fails on any 5xx,
any response its schema does not describe and any status code the document does not list.

    python tests/fuzz/fuzz_stack.py [--max-examples 8] [--max-time 90] [extra `st run` options]

Prints the figures (operations, requests, 5xx, schema violations) from the server's access log and
schemathesis's report; exits with schemathesis's status, or 1 when the server answered any 5xx.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "support"))

from backends import fake_backend, full_config, stack_server

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
ACCESS = re.compile(r"stack\.access: (?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) ")


def schemathesis() -> str:
    found = shutil.which("st") or shutil.which("schemathesis")
    if found is None:
        sys.exit("schemathesis is not installed (pip install schemathesis)")
    return found


def figures(document: dict[str, Any], report: Path, log: str) -> dict[str, object]:
    statuses = Counter(int(m["status"]) for m in ACCESS.finditer(log))
    violations: Counter[str] = Counter()
    for line in report.read_text().splitlines() if report.exists() else ():
        for body in json.loads(line).values():
            for check in _failed_checks(body) if isinstance(body, dict) else ():
                violations[check] += 1
    return {
        "operations": sum(len(methods) for methods in document["paths"].values()),
        "requests": sum(statuses.values()),
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "statuses": dict(sorted(statuses.items())),
        "schema_violations": sum(n for c, n in violations.items() if c != "not_a_server_error"),
        "failed_checks": dict(violations),
    }


def _failed_checks(body: dict[str, object]) -> list[str]:
    recorder = body.get("recorder")
    if not isinstance(recorder, dict):
        return []
    failed = []
    for checks in (recorder.get("checks") or {}).values():
        for check in checks:
            if str(check.get("status")).lower() == "failure":
                failed.append(check.get("name", "?"))
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=8)
    parser.add_argument("--max-time", type=int, default=60, help="seconds for the whole run")
    args, extra = parser.parse_known_args()
    scratch = Path(tempfile.mkdtemp(prefix="stack-fuzz-"))
    report = scratch / "events.ndjson"
    env = {"STACK_ACCESS_LOG": "1"}
    with (
        fake_backend(models="m,embed") as backend,
        stack_server(full_config(backend), scratch, env=env) as server,
    ):
        command = [
            schemathesis(),
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            str(args.max_examples),
            "--max-time",
            str(args.max_time),
            "--workers",  # one: CPython 3.11's ast.parse, which hypothesis calls, is not thread-safe
            "1",
            "--seed",
            "14",
            "--no-shrink",
            "--suppress-health-check",
            "all",
            "--generation-database",
            "none",
            "--request-timeout",
            "20",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
            *(e for e in extra if e != "--keep"),
        ]
        document = httpx.get(f"{server.url}/openapi.json").json()
        code = subprocess.call(command)
        log = server.log()
    found = figures(document, report, log)
    print("fuzz figures:", json.dumps(found))
    if "--keep" not in extra:
        shutil.rmtree(scratch, ignore_errors=True)
    return code or (1 if found["5xx"] else 0)


if __name__ == "__main__":
    sys.exit(main())
