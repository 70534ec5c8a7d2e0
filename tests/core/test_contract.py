"""The kernel's contract with plugins: one public surface, declared once, used as declared.

- ``stack_core/__init__.py`` names its exports three times (``_EXPORTS``, ``__all__``, the
  ``TYPE_CHECKING`` imports); the three agree.
- Plugin and external packages import only the public API: ``stack_core`` (names in ``__all__``),
  ``stack_core.apis.<api>`` and ``stack_core.kits.<kit>``, in imports and in ``"module:NAME"``
  references alike (``stack_core.testing`` is for tests, which live outside these packages).
- Each of those packages declares in its own pyproject what it imports (pydantic aside: it is
  part of ``stack_core``'s API).
- Every reference every installed plugin registers imports and names the right kind of object.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from pydantic import BaseModel

import stack_core
from stack_core import ApiSpec
from stack_core.plugins import PluginSet, load_plugins, reset_plugins
from stack_core.spec import resolved

PACKAGE = Path(stack_core.__file__).parent
REPO = Path(__file__).resolve().parents[2]
PUBLIC_PACKAGES = ("apis", "kits")
REFERENCE = re.compile(r"(?P<module>[A-Za-z_][\w.]*):(?P<name>[A-Za-z_]\w*)")


def type_checking_imports() -> dict[str, str]:
    """Name → module of the ``from .module import Name`` lines under ``if TYPE_CHECKING:``."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1, ast.unparse(node)
        for alias in node.names:
            assert alias.asname is None, f"{ast.unparse(node)}: re-exported under another name"
            assert alias.name not in found, f"{alias.name} imported twice under TYPE_CHECKING"
            found[alias.name] = f"stack_core.{node.module}"
    return found


def test_exports_all_and_type_checking_imports_agree() -> None:
    exports, typed = stack_core._EXPORTS, type_checking_imports()
    assert len(stack_core.__all__) == len(set(stack_core.__all__)), "__all__ names a name twice"
    assert set(stack_core.__all__) == set(exports), "__all__ and _EXPORTS differ"
    assert set(typed) == set(exports), "the TYPE_CHECKING imports and _EXPORTS differ"
    assert {n: m for n, m in exports.items() if typed[n] != m} == {}, "exported from another module"


def public_module(module: str) -> bool:
    """``stack_core`` itself, or one module of ``stack_core.apis`` / ``stack_core.kits``."""
    parts = module.split(".")
    if parts == ["stack_core"]:
        return True
    return (
        len(parts) == 3
        and parts[:2] in (["stack_core", p] for p in PUBLIC_PACKAGES)
        and (PACKAGE / parts[1] / f"{parts[2]}.py").is_file()
    )


def kernel_uses(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, name or None) for each use of the kernel in ``path``: imports, and strings
    that are ``"module:NAME"`` references."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if node.module != "stack_core" and public_module(submodule):
                    yield node.lineno, submodule, None  # from stack_core.apis import inference
                else:
                    yield node.lineno, node.module, alias.name
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and (match := REFERENCE.fullmatch(node.value))
        ):
            yield node.lineno, match["module"], match["name"]


def violations(path: Path) -> list[str]:
    where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    found = []
    for line, module, name in kernel_uses(path):
        if module != "stack_core" and not module.startswith("stack_core."):
            continue
        if not public_module(module):
            found.append(f"{where}:{line}: {module} is private to the kernel")
        elif module == "stack_core" and name is not None and name not in stack_core.__all__:
            found.append(f"{where}:{line}: stack_core.{name} is not in stack_core.__all__")
        elif name is not None and name.startswith("_"):
            found.append(f"{where}:{line}: {module}.{name} is private")
    return found


def package_sources() -> list[Path]:
    return sorted(REPO.glob("plugins/*/src/**/*.py")) + sorted(REPO.glob("external_providers/*/src/**/*.py"))


def test_the_import_rule_sees_every_package() -> None:
    packages = {p.relative_to(REPO).parts[:2] for p in package_sources()}
    assert len(packages) == len(list(REPO.glob("plugins/*/pyproject.toml"))) + len(
        list(REPO.glob("external_providers/*/pyproject.toml"))
    )


@pytest.mark.parametrize("path", package_sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_packages_use_only_the_public_api(path: Path) -> None:
    found = violations(path)
    assert not found, "\n".join(found)


def test_the_import_rule_catches_violations(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import stack_core.routing\n"
        "from stack_core.objects import OwnedObjects\n"
        "from stack_core import _EXPORTS, hookimpl\n"
        "from stack_core.apis import inference, safety\n"
        "from stack_core.testing import inference as conformance\n"
        "FACTORY = 'stack_core.kits.openai_compat:create_adapter'\n"
        "CONFIG = 'stack_core.config:RemoteInferenceConfig'\n"
    )
    found = [v.partition(": ")[2] for v in violations(bad)]
    assert found == [
        "stack_core.routing is private to the kernel",
        "stack_core.objects is private to the kernel",
        "stack_core._EXPORTS is not in stack_core.__all__",
        "stack_core.testing is private to the kernel",
        "stack_core.config is private to the kernel",
    ]


def declared(package: Path) -> set[str]:
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    return {canonical(re.split(r"[\s\[<>=!~;]", dep, maxsplit=1)[0]) for dep in project["dependencies"]}


@functools.cache
def installed_distributions() -> Mapping[str, list[str]]:
    return packages_distributions()


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize(
    "package",
    sorted({REPO.joinpath(*p.relative_to(REPO).parts[:2]) for p in package_sources()}),
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_packages_declare_what_they_import(package: Path) -> None:
    """Checked for the libraries installed where it runs (all of them in the whole suite)."""
    own = {p.name for p in (package / "src").iterdir() if p.is_dir()}
    exempt = {"stack_core", "pydantic", "__future__", *own, *sys.stdlib_module_names}
    distributions = installed_distributions()
    missing = set()
    for path in (package / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {n.partition(".")[0] for n in names} - exempt:
                dists = {canonical(d) for d in distributions.get(top, [])}
                if dists and not dists & declared(package):
                    missing.add(f"{top} ({', '.join(sorted(dists))})")
    assert not missing, f"{package.name} imports but does not declare: {', '.join(sorted(missing))}"


@pytest.fixture
def installed() -> Iterator[PluginSet]:
    """The installed plugins, discovered afresh and forgotten afterwards: loading ApiRefs here must
    not leave other tests a plugin set with specs already imported."""
    reset_plugins()
    yield load_plugins()
    reset_plugins()


def accepts(function: object, *args: None) -> bool:
    try:
        inspect.signature(function).bind(*args)  # type: ignore[arg-type]
    except TypeError:
        return False
    return True


def test_every_installed_plugin_loads(installed: PluginSet) -> None:
    assert [f.describe() for f in installed.failures] == []


def test_every_provider_reference_resolves(installed: PluginSet) -> None:
    for spec in installed.providers.values():
        model = spec.config_model()
        assert issubclass(model, stack_core.ConfigModel), f"{spec.provider_type}: {model} is no ConfigModel"
        assert model.model_config.get("extra") == "forbid", f"{spec.provider_type}: unknown keys allowed"
        factory = resolved(spec.factory, f"{spec.provider_type} (package {spec.package!r})")
        assert callable(factory) and accepts(factory, None, None), (
            f"{spec.provider_type}: factory {spec.factory!r} does not take (config, context)"
        )


def test_every_api_reference_resolves(installed: PluginSet) -> None:
    for name in list(installed.apis):
        spec = installed.api(name)
        assert isinstance(spec, ApiSpec)
        for route in spec.routes:
            if route.via is not None:
                build = resolved(route.via, f"API {name!r} route {route.name}")
                assert callable(build) and accepts(build, None), (
                    f"{route.path}: via {route.via!r} takes no API"
                )


def test_every_auth_provider_reference_resolves(installed: PluginSet) -> None:
    assert installed.auth
    for spec in installed.auth.values():
        assert issubclass(spec.config_model(), BaseModel)
        factory = spec.factory_function()
        assert accepts(factory, None) or accepts(factory, None, None), (
            f"auth provider {spec.type}: factory {spec.factory!r} takes neither (config) nor (config, context)"
        )


def test_every_config_field_is_described(installed: PluginSet) -> None:
    """The configuration reference (``stack docs config``) shows each field's description: every
    field of every provider's and auth provider's config (and the models they nest) has one."""
    from stack_core.reference import fields, nested_models

    models = [s.config_model() for s in installed.providers.values()]
    models += [s.config_model() for s in installed.auth.values()]
    undescribed = {
        f"{model.__name__}.{field.name}"
        for top in models
        for model in (top, *nested_models(top))
        for field in fields(model)
        if not field.description
    }
    assert undescribed == set()
