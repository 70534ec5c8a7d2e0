"""The one task runner. `nox` runs lint, typecheck and tests; `nox -s bench` and `nox -s serve` on demand."""

from __future__ import annotations

import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(p.name for p in (ROOT / "plugins").glob("*") if (p / "pyproject.toml").is_file())

# Plugins whose tests also need other plugins (e.g. a remote inference adapter in front of the fake
# backend, or local embeddings for RAG tests).
COMPANIONS: dict[str, tuple[str, ...]] = {
    "llama-guard": ("vllm",),
    **{vector: ("sentence-transformers",) for vector in ("chromadb", "faiss", "pgvector", "qdrant")},
    "vector-stores": ("sentence-transformers", "faiss", "localfs", "vllm"),
}

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.error_on_missing_interpreters = True


def install_stack(session: nox.Session, *plugins: str, extras: str = "test") -> None:
    """stack-core (editable, with extras) and the named plugin packages (with their own ``test``
    extra when installing for tests, e.g. pgvector's embedded Postgres server)."""
    session.install(
        "-e",
        f"core[{extras}]" if extras else "core",
        *(a for p in plugins for a in ("-e", plugin_path(p, extras))),
    )


def plugin_path(name: str, extras: str) -> str:
    declared = tomllib.loads((ROOT / "plugins" / name / "pyproject.toml").read_text())["project"]
    wanted = extras == "test" and "test" in declared.get("optional-dependencies", {})
    return f"plugins/{name}[test]" if wanted else f"plugins/{name}"


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: kernel, every plugin, integration and external-provider tests."""
    install_stack(session, *PLUGINS)
    session.run("pytest", *(session.posargs or ["tests"]))


@nox.session
@nox.parametrize("plugin", PLUGINS)
def plugin(session: nox.Session, plugin: str) -> None:
    """One plugin package alone with the kernel: its own tests and the conformance suite."""
    install_stack(session, plugin, *COMPANIONS.get(plugin, ()))
    tests_dir = ROOT / "tests" / "plugins" / plugin
    if not tests_dir.is_dir():
        session.error(f"plugin {plugin} has no tests under tests/plugins/{plugin}")
    session.run("pytest", str(tests_dir), *session.posargs)


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


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Install everything and start the server: `nox -s serve -- [CONFIG] [--port N]`."""
    install_stack(session, *PLUGINS, extras="")
    session.run("stack", "run", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Gateway benchmark vs the fake backend (tests/benchmarks/bench.py; `-- --duration 8`), then the
    vector scenarios per provider (tests/benchmarks/bench_vector.py). Tables on stdout, JSON under
    bench-results/."""
    install_stack(session, *[p for p in PLUGINS if p != "sentence-transformers"])
    session.run("python", "tests/benchmarks/bench.py", *session.posargs)
    session.run("python", "tests/benchmarks/bench_vector.py")


@nox.session(default=False)
def bench_vector(session: nox.Session) -> None:
    """Vector providers through Stack vs their libraries, 10k and 100k chunks (tests/benchmarks/bench_vector.py)."""
    install_stack(session, "faiss", "chromadb", "qdrant", "pgvector", "vllm")
    session.run("python", "tests/benchmarks/bench_vector.py", *session.posargs)
