"""Meta-tests keeping the kernel's shape: a one-way import ladder, small modules, documented hooks."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import stack_core
from stack_core import hookspecs

PACKAGE = Path(stack_core.__file__).parent
TESTS = Path(__file__).resolve().parents[1]

# Lower rungs never import higher ones at module level (lazy imports inside functions excepted).
LADDER: list[set[str]] = [
    {"errors", "resources", "environment", "fields", "redact"},
    {"envsubst", "context", "spec", "access", "payloads", "framing", "calls", "capabilities"},
    {"config", "hookspecs", "apis", "http"},
    {"storage", "registry", "auth", "services", "objects", "view", "registries", "clients", "jobs"},
    {"plugins", "routing", "kits", "builtin", "reconcile"},
    {"tool_router", "scoring_router"},
    {"stack", "distribution", "reference"},
    {"server"},
    {"cli", "testing", "eval_cli", "eval_report"},
]
RUNG = {name: level for level, names in enumerate(LADDER) for name in names}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def rung(path: Path) -> int:
    top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    return RUNG.get(top, -1)


def top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = path.relative_to(PACKAGE).parts[:-1][: len(path.relative_to(PACKAGE).parts) - node.level]
            target = [*base, *(node.module.split(".") if node.module else [])]
            if target:
                found.add(target[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stack_core."):
            found.add(node.module.split(".")[1])  # type: ignore[union-attr]
    return found


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if p.name != "__init__.py" or p.parent != PACKAGE],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_imports_only_go_down_the_ladder(path: Path) -> None:
    assert rung(path) >= 0, f"{path.relative_to(PACKAGE)} is not on the ladder; add it to LADDER"
    for target in top_level_imports(path):
        if target in RUNG and target != path.relative_to(PACKAGE).parts[0].removesuffix(".py"):
            assert RUNG[target] <= rung(path), (
                f"{path.relative_to(PACKAGE)} imports {target}, which is higher"
            )


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def kernel_imports(path: Path) -> set[str]:
    """Every kernel module ``path`` imports, wherever the import statement is (module level,
    ``if TYPE_CHECKING:``, inside functions), as dotted names relative to the package."""
    known = {module_name(p) for p in modules()}
    package = (
        module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    )
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level > 1 else package
                prefix = [p for p in base if p]
            elif (node.module or "").split(".")[0] == "stack_core":
                prefix = []
            else:
                continue
            module = [*prefix, *((node.module or "").split(".") if node.module else [])]
            if node.module and node.module.startswith("stack_core"):
                module = node.module.split(".")[1:]
            for alias in node.names:  # `from . import hookspecs` imports a module
                candidate = ".".join([*module, alias.name])
                found.add(candidate if candidate in known else ".".join(module))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("stack_core."):
                    found.add(alias.name.removeprefix("stack_core."))
    return {m for m in found if m in known and m != module_name(path)}


def test_kernel_imports_form_no_cycle() -> None:
    """No circle among kernel modules, counting ``TYPE_CHECKING`` and function-level imports too.
    The package's ``__init__`` (lazy re-exports of the public API) is the one module left out."""
    import graphlib

    graph = {module_name(p): kernel_imports(p) for p in modules() if module_name(p)}
    graph = {m: deps - {""} for m, deps in graph.items()}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"kernel modules import each other in a circle: {' -> '.join(exc.args[1])}")


def test_the_cycle_check_sees_type_checking_imports(tmp_path: Path) -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .stack import Stack\n"
    probe = PACKAGE / "_probe_cycle.py"
    probe.write_text(source)
    try:
        assert "stack" in kernel_imports(probe)
    finally:
        probe.unlink()


def test_no_module_over_800_lines() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in modules()}
    assert {name: n for name, n in sizes.items() if n > 800} == {}


def test_every_hook_is_typed_documented_and_tested() -> None:
    hooks = [name for name, fn in vars(hookspecs).items() if name.startswith("stack_") and callable(fn)]
    assert hooks
    test_text = "\n".join(p.read_text() for p in TESTS.rglob("*.py"))
    for name in hooks:
        fn = getattr(hookspecs, name)
        assert inspect.getdoc(fn), f"hook {name} has no docstring"
        assert all(
            p.annotation is not inspect.Parameter.empty for p in inspect.signature(fn).parameters.values()
        )
        assert f"def {name}(" in test_text, f"no test plugin implements {name}"


def test_public_surface_is_explicit() -> None:
    for name in stack_core.__all__:
        assert getattr(stack_core, name) is not None


HEAVY = (
    "numpy",
    "torch",
    "sentence_transformers",
    "chromadb",
    "qdrant_client",
    "faiss",
    "pypdf",
    "jwt",
    "asyncpg",
)


def test_plugin_discovery_imports_no_heavy_dependency() -> None:
    """Installed plugins are all imported at start-up: their hooks must not pull in ML or DB
    libraries (adapters load those when a provider is actually configured)."""
    import subprocess
    import sys

    code = (
        "import sys; from stack_core.plugins import load_plugins; p = load_plugins(); "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules)); print(p.failures)"
    )
    loaded, failures = subprocess.check_output([sys.executable, "-c", code], text=True).splitlines()
    assert (loaded, failures) == ("[]", "[]")


def test_discovery_builds_nothing_a_config_does_not_serve() -> None:
    """The kernel's provider-served APIs are ``ApiRef``s; plugins (and the kernel's auth providers)
    register configs and factories by reference or as unbuilt ``ConfigModel``s: after discovery no
    API module, adapter, auth config or upstream HTTP client is imported and no provider config
    validator is built."""
    import subprocess
    import sys

    lazy = (
        *(
            f"stack_core.apis.{name}"
            for name in (
                "files",
                "safety",
                "vector_io",
                "vector_stores",
                "responses",
                "agents",
                "conversations",
            )
        ),
        "stack_core.kits.openai_compat",
        "stack_core.auth.configs",
        "aiohttp",
        "httpx",
    )
    code = (
        "import sys; from stack_core.plugins import load_plugins; p = load_plugins(); "
        f"print(sorted(m for m in sys.modules if m in {lazy!r} or m.endswith('.adapter'))); "
        "print(sorted(s.provider_type for s in p.providers.values() "
        "if not isinstance(s.config, str) and s.config.__pydantic_complete__))"
    )
    imported, built = subprocess.check_output([sys.executable, "-c", code], text=True).splitlines()
    assert (imported, built) == ("[]", "[]")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = (TESTS.parent / "README.md").read_text()
    command = readme.split("Install and run the whole test suite", 1)[1].split("```bash\n", 1)[1]
    command = command.split("\n", 1)[0]
    assert "nox" in command
    assert command in (TESTS.parent / ".ci" / "run").read_text().splitlines()
