"""The one task runner. `nox` runs lint, typecheck, the kernel alone on each supported Python, each
plugin alone in its own venv, then the whole suite and a schemathesis fuzz of a served stack; `nox -s bench` and `nox -s serve` on demand.

Venvs are made by uv when it is installed (`pip install 'nox[uv]'`), else by venv; uv is told the
find-links, indexes and constraints pip is configured with, so both install the same packages.
"""

from __future__ import annotations

import ast
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(p.name for p in (ROOT / "plugins").glob("*") if (p / "pyproject.toml").is_file())
KERNEL_PYTHONS = ["3.11", "3.12"]
# The CPU build; unpinned, an index may offer a CUDA build of several GB (the README pins the same).
TORCH = "torch==2.13.0"
# llama-cpp-python ships only an sdist (a 10-40 minute compile): built once per clone into WHEELS, for
# any x86-64 CPU (not only this one) and without the multimodal library a text model does not use.
LLAMA_CPP_BUILD = {"CMAKE_ARGS": "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"}
WHEELS = ROOT / ".nox" / "wheels"
# The current client line, tested from a Python 3.12 venv of its own (tests/integration/test_current_client.py).
CURRENT_CLIENT = "llama-stack-client>=0.7,<0.8"

# Plugins whose tests also need other plugins (e.g. a remote inference adapter in front of the fake
# backend, or local embeddings for RAG tests).
COMPANIONS: dict[str, tuple[str, ...]] = {
    "llama-guard": ("vllm",),
    **{vector: ("sentence-transformers",) for vector in ("chromadb", "faiss", "pgvector", "qdrant")},
    "vector-stores": ("sentence-transformers", "faiss", "localfs", "vllm"),
    "rag-runtime": ("sentence-transformers", "faiss", "localfs", "vllm"),
    "agents": (
        "vllm",
        "llama-guard",
        "rag-runtime",
        "sentence-transformers",
        "faiss",
        "localfs",
        "vector-stores",
        "regex-shield",
        "mcp",
    ),
    "datasetio-huggingface": ("datasetio-localfs",),
    "eval": ("datasetio-localfs", "scoring-basic", "scoring-llm-as-judge", "vllm", "agents"),
    "scoring-llm-as-judge": ("vllm",),
    "telemetry": ("vllm", "datasetio-localfs"),
}


def _uv_follows_pip() -> None:
    """uv reads no pip config: hand it pip's find-links, indexes, constraints and certificate (env
    vars already set win), and pip's rule of taking the best match across all indexes."""
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return
    order = {"global": 0, "install": 1, "user": 2, "site": 3, ":env:": 4}
    settings: dict[str, str] = {}
    entries = [line.partition("=")[::2] for line in listed.splitlines() if "=" in line]
    for key, value in sorted(entries, key=lambda e: order.get(e[0].rpartition(".")[0], 0)):
        settings[key.rpartition(".")[2]] = str(ast.literal_eval(value))
    uv = {
        "UV_FIND_LINKS": ",".join(settings.get("find-links", "").split()),
        "UV_DEFAULT_INDEX": settings.get("index-url", ""),
        "UV_EXTRA_INDEX_URL": settings.get("extra-index-url", ""),
        "UV_CONSTRAINT": settings.get("constraint", ""),
        "SSL_CERT_FILE": settings.get("cert", ""),
    }
    if uv["UV_FIND_LINKS"] or uv["UV_EXTRA_INDEX_URL"]:
        uv["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    for name, value in uv.items():
        if value:
            os.environ.setdefault(name, value)


def _pyenv_exposes(*versions: str) -> None:
    """pyenv's shims run only its active versions: add the newest installed patch of each wanted
    version to them (``PYENV_VERSION``, for nox and uv alike) so ``python3.12`` is found."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if not root.is_dir() or not shutil.which("pyenv"):
        return
    active = (
        os.environ.get("PYENV_VERSION")
        or subprocess.run(
            ["pyenv", "version-name"], capture_output=True, text=True, check=False
        ).stdout.strip()
    )
    names = [n for n in active.split(":") if n]
    for version in versions:
        installed = [
            p.name for p in root.glob(f"{version}.*") if p.name.removeprefix(f"{version}.").isdigit()
        ]
        if installed:
            names.append(max(installed, key=lambda n: int(n.rpartition(".")[2])))
    os.environ["PYENV_VERSION"] = ":".join(dict.fromkeys(names))


_uv_follows_pip()
_pyenv_exposes(*KERNEL_PYTHONS)
nox.options.default_venv_backend = "uv|venv"
nox.options.error_on_missing_interpreters = True  # a Python CI should test on is a failure, not a skip
if os.environ.get("CI"):
    nox.options.download_python = "never"


def install_stack(session: nox.Session, *plugins: str, extras: str = "test") -> None:
    """stack-core (editable, with extras) and the named plugin packages (with their own ``test``
    extra when installing for tests, e.g. pgvector's embedded Postgres server)."""
    session.install(
        "-e",
        f"core[{extras}]" if extras else "core",
        *(a for p in plugins for a in ("-e", plugin_path(p, extras))),
        *([TORCH] if "sentence-transformers" in plugins else []),
        *(built_wheels(session) if "llama-cpp" in plugins else []),
    )


def built_wheels(session: nox.Session) -> list[str]:
    """``--find-links`` to llama-cpp-python's wheel, built on first use with pip (``pip wheel``
    takes CMAKE_ARGS): uv's own build cache is keyed by the sdist's HTTP revision, and an index
    that re-validates it makes uv compile again in every session (seen here)."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    with (WHEELS / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # sessions running side by side (`ci`) build it once
        if not any(WHEELS.glob("llama_cpp_python-*.whl")):
            declared = plugin_project("llama-cpp")["dependencies"]
            requirement = next(r for r in declared if r.startswith("llama-cpp-python"))
            session.install("pip")
            session.run(
                "python",
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "-w",
                str(WHEELS),
                requirement,
                *("--timeout", "20"),  # an index that stalls is retried soon, not after minutes
                env=LLAMA_CPP_BUILD,
            )
    return ["--find-links", str(WHEELS)]


def plugin_project(name: str) -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "plugins" / name / "pyproject.toml").read_text())[
        "project"
    ]
    return project


def plugin_path(name: str, extras: str) -> str:
    declared = plugin_project(name)
    wanted = extras == "test" and "test" in declared.get("optional-dependencies", {})
    return f"plugins/{name}[test]" if wanted else f"plugins/{name}"


def pytest(session: nox.Session, *args: str, env: dict[str, str] | None = None) -> None:
    """pytest with temporary directories of the session's own: pytest keeps the three newest
    ``pytest-N`` folders of a temp root and deletes older ones, so sessions running side by side
    (``ci``) deleted each other's. A short path under /tmp: Postgres puts its Unix socket there."""
    root = tempfile.mkdtemp(prefix="nox-pytest-")
    session.run("pytest", *args, env={"PYTEST_DEBUG_TEMPROOT": root, **(env or {})})
    shutil.rmtree(root, ignore_errors=True)  # kept when the tests failed


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the kernel (configured in the root pyproject), then on every plugin package
    and the external providers, against the kernel's public types."""
    install_stack(session, *PLUGINS, extras="")
    session.install("mypy>=1.11", "types-PyYAML", "pytest>=8")
    session.run("mypy")
    packages = [
        str(p) for p in sorted(ROOT.glob("plugins/*/src/*")) + sorted(ROOT.glob("external_providers/*/src/*"))
    ]
    session.run("mypy", "--strict", *[p for p in packages if Path(p).is_dir()])


@nox.session(python=KERNEL_PYTHONS)
def kernel(session: nox.Session) -> None:
    """stack-core alone (no plugin) on each supported Python: its tests, the external providers.

    Also the fake backend's own tests; tests/external builds the external providers as wheels and
    installs them with the kernel into a fresh venv."""
    install_stack(session)
    session.install("pip")  # tests/external builds wheels with `python -m pip`
    pytest(session, *(session.posargs or ["tests/core", "tests/external", "tests/support_tests"]))


@nox.session
@nox.parametrize("plugin", PLUGINS, ids=PLUGINS)
def plugin(session: nox.Session, plugin: str) -> None:
    """One plugin (and its COMPANIONS) alone with the kernel in its own venv: its tests, the contracts.

    The contract tests import every reference the plugin registers and check it declares what it
    imports, so a dependency it forgot (that another plugin brings) fails here."""
    install_stack(session, plugin, *COMPANIONS.get(plugin, ()))
    tests_dir = ROOT / "tests" / "plugins" / plugin
    if not tests_dir.is_dir():
        session.error(f"plugin {plugin} has no tests under tests/plugins/{plugin}")
    pytest(session, str(tests_dir), "tests/core/test_contract.py", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Every plugin installed together: the integration tests (the current client line's from a venv
    of its own) and the contracts. The kernel's, the external providers' and each plugin's own tests
    ran in the sessions above, so they are not run again here (``nox -s tests -- tests`` runs the
    whole suite in this one venv)."""
    install_stack(session, *PLUGINS)
    session.install("pip")  # tests/external builds wheels with `python -m pip`
    env = {"STACK_CLIENT_07_PYTHON": current_client_python(session)}
    tests = ["tests/integration", "tests/core/test_contract.py"]
    pytest(session, *(session.posargs or tests), env=env)


FUZZ_PLUGINS = ("vllm", "faiss", "localfs", "vector-stores", "regex-shield")
SCHEMATHESIS = "schemathesis>=4.32,<5"


@nox.session
def fuzz(session: nox.Session) -> None:
    """schemathesis against `stack run` (fake backend, vector DB, files, vector stores, a shield),
    a minute in all (`-- --max-time 300` for longer): fails on any 5xx, any response its schema does
    not describe and any status code the OpenAPI document does not list (tests/fuzz/fuzz_stack.py)."""
    install_stack(session, *FUZZ_PLUGINS, extras="")
    session.install(SCHEMATHESIS, "aiohttp>=3.10,<4")  # the fake backend's server
    session.run("python", "tests/fuzz/fuzz_stack.py", *session.posargs)


# What `nox` runs (through `ci`): every check, each in a session of its own.
CHECKS = (
    "tests",  # the longest first: `ci` starts sessions in this order when no durations are on record
    "typecheck",
    "fuzz",
    *(f"kernel-{version}" for version in KERNEL_PYTHONS),
    *(f"plugin({p})" for p in sorted(PLUGINS, key=lambda p: -len(COMPANIONS.get(p, ())))),
    "lint",
)
NEEDS_WHEELS = {
    "typecheck",
    "tests",
    *(f"plugin({p})" for p in PLUGINS if "llama-cpp" in (p, *COMPANIONS.get(p, ()))),
}
LOGS = ROOT / ".nox" / "logs"
SESSION_TIMEOUT_S = 30 * 60
nox.options.sessions = ["ci"]


@nox.session(venv_backend="none")
def ci(session: nox.Session) -> None:
    """The default: every session in ``CHECKS`` as a child ``nox -s NAME``, ``STACK_NOX_JOBS`` at a
    time (default: one per core, plus one, as most of a session waits on installs and on the servers
    its tests start), the longest first by the durations of the last run here. Each one's output
    goes to .nox/logs/NAME.log, printed whole when it fails; a session past 30 minutes is killed.
    Fails when any session fails. ``nox -s ci -- NAME ...`` runs only those."""
    names = list(session.posargs or CHECKS)
    jobs = int(os.environ.get("STACK_NOX_JOBS") or (os.cpu_count() or 1) + 1)
    LOGS.mkdir(parents=True, exist_ok=True)
    record = LOGS / "durations.json"
    durations: dict[str, float] = json.loads(record.read_text()) if record.is_file() else {}
    names.sort(key=lambda n: -durations.get(n, 1e9 - CHECKS.index(n) if n in CHECKS else 0))
    waits: dict[str, str] = {}
    if not any(WHEELS.glob("llama_cpp_python-*.whl")):  # built first, while other sessions run
        names.insert(0, "build-wheels")
        waits = {n: "build-wheels" for n in names if n in NEEDS_WHEELS}
    began = time.monotonic()
    results = _run_children(session, names, jobs, waits)
    record.write_text(json.dumps({**durations, **{n: took for n, (_, took) in results.items()}}, indent=1))
    failed = [n for n in names if results[n][0] != 0]
    for name in failed:
        print(f"\n======== {name}: .nox/logs/{_log_name(name)} ========", flush=True)
        print(_log_of(name).read_text(errors="replace"), flush=True)
    session.log(f"Ran {len(names)} sessions, {jobs} at a time, in {time.monotonic() - began:.0f} s:")
    for name in names:
        code, took = results[name]
        session.log(f"* {name}: {'success' if code == 0 else f'failed (exit {code})'}, took {took:.0f} s")
    if failed:
        session.error(f"{len(failed)} of {len(names)} sessions failed: {', '.join(failed)}")


def _log_name(name: str) -> str:
    return name.replace("(", "-").replace(")", "") + ".log"


def _log_of(name: str) -> Path:
    return LOGS / _log_name(name)


def _run_children(
    session: nox.Session, names: list[str], jobs: int, waits: dict[str, str]
) -> dict[str, tuple[int, float]]:
    """Run ``nox -s NAME`` for each name, ``jobs`` at a time, in order except that a name in
    ``waits`` starts once the session it waits for has ended: {name: (exit code, seconds)}."""
    pending, running = list(names), {}
    results: dict[str, tuple[int, float]] = {}
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a stopped run stops its sessions too
    try:
        while pending or running:
            while len(running) < jobs:
                ready = [n for n in pending if waits.get(n, n) == n or waits[n] in results]
                if not ready:
                    break
                name = ready[0]
                pending.remove(name)
                with _log_of(name).open("wb") as log:
                    command = [sys.executable, "-m", "nox", "-s", name]
                    child = subprocess.Popen(
                        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
                running[name] = (child, time.monotonic())
            time.sleep(0.2)
            for name, (child, started) in list(running.items()):
                took = time.monotonic() - started
                if child.poll() is None and took > SESSION_TIMEOUT_S:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
                if child.returncode is not None:
                    del running[name]
                    results[name] = (child.returncode, took)
                    outcome = "success" if child.returncode == 0 else f"FAILED (exit {child.returncode})"
                    session.log(f"{name}: {outcome} in {took:.0f} s ({len(results)}/{len(names)} done)")
    finally:
        for child, _ in running.values():
            os.killpg(child.pid, signal.SIGTERM)
    return results


@nox.session(name="build-wheels", default=False)
def build_wheels(session: nox.Session) -> None:
    """Build the wheels no index has (llama-cpp-python's) into .nox/wheels, once per clone."""
    built_wheels(session)


@nox.session(default=False)
def current_client(session: nox.Session) -> None:
    """Only the current client line (llama-stack-client 0.7) against a served stack."""
    install_stack(session, "vllm", "faiss")
    env = {"STACK_CLIENT_07_PYTHON": current_client_python(session)}
    pytest(session, "tests/integration/test_current_client.py", *session.posargs, env=env)


def current_client_python(session: nox.Session) -> str:
    """The interpreter of a venv holding the current client line, which needs Python >= 3.12 and
    cannot share a venv with the 0.2 line the other tests import (made once, under .nox/)."""
    venv = Path(session.virtualenv.location).parent / "client-0.7"
    python = venv / "bin" / "python"
    if not python.exists():
        base = shutil.which("python3.12")
        if base is None:
            session.error("the llama-stack-client 0.7 test needs python3.12 (e.g. `pyenv install 3.12`)")
        session.run(base, "-m", "venv", str(venv), external=True)
    session.run(str(python), "-m", "pip", "install", "-q", CURRENT_CLIENT, external=True)
    return str(python)


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Install everything and start the server: `nox -s serve -- [CONFIG] [--port N]`."""
    install_stack(session, *PLUGINS, extras="")
    session.run("stack", "run", *session.posargs)


BENCHES = (
    "bench.py",
    "bench_dispatch.py",
    "bench_vector.py",
    "bench_embed.py",
    "bench_mcp.py",
    "bench_responses.py",
    "bench_eval.py",
    "bench_telemetry.py",
    "bench_llama.py",
)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Every script in ``BENCHES`` (tests/benchmarks/), each beside its baseline in the same run: the
    gateway vs a bare proxy (bench.py; ``-- --duration 8``), dispatch cost per call (bench_dispatch),
    vector providers vs their libraries (bench_vector), the inline embedding provider vs the library
    (bench_embed), MCP tool calls vs the mcp client (bench_mcp), a Responses function-tool round trip
    vs the backend directly (bench_responses), eval rows/s vs the backend's direct rate (bench_eval),
    chat with telemetry on vs off (bench_telemetry) and the inline chat model vs llama-cpp-python
    (bench_llama). Tables on stdout, JSON under bench-results/."""
    install_stack(session, *PLUGINS)
    for script in BENCHES:
        args = session.posargs if script == "bench.py" else ()
        session.run("python", f"tests/benchmarks/{script}", *args)


@nox.session(default=False)
def bench_vector(session: nox.Session) -> None:
    """Vector providers through Stack vs their libraries, 10k and 100k chunks (tests/benchmarks/bench_vector.py)."""
    install_stack(session, "faiss", "chromadb", "qdrant", "pgvector", "vllm")
    session.run("python", "tests/benchmarks/bench_vector.py", *session.posargs)
