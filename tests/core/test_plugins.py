"""Discovery through real entry points of throw-away distributions put on sys.path."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import echo_plugin
import pytest

from stack_core import create_app
from stack_core.errors import ConfigError, PluginError
from stack_core.plugins import discover

GOOD = """
from pydantic import BaseModel
from stack_core import hookimpl

class Config(BaseModel):
    url: str = "http://x"

class Impl:
    async def echo(self, request):
        return {"text": request.text, "voice": request.voice, "provider_id": "ext"}

@hookimpl
def stack_register_providers(register):
    register(api="echo", provider_type="remote::ext", config=Config, factory=lambda c, ctx: Impl(),
             sample_config={"url": "${env.EXT_URL}"}, enable_env="EXT_URL")
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("tplug_")]:
        del sys.modules[name]


def make_dist(site: Path, dist: str, entry: str, module: str, source: str) -> None:
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[stack]\n{entry} = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(source))


def test_entry_point_plugin_is_discovered(site: Path) -> None:
    make_dist(site, "stack-provider-ext", "ext", "tplug_good", GOOD)
    plugins = discover({"echo": echo_plugin})
    spec = plugins.provider("echo", "remote::ext")
    assert spec is not None and spec.package == "stack-provider-ext" and spec.enable_env == "EXT_URL"
    assert plugins.loaded["ext"] == "stack-provider-ext"


def test_import_failure_names_distribution_and_entry_point(site: Path) -> None:
    make_dist(site, "stack-provider-broken", "broken", "tplug_broken", "import nonexistent_module_xyz\n")
    plugins = discover({"echo": echo_plugin})
    (failure,) = [f for f in plugins.failures if f.name == "broken"]
    assert failure.package == "stack-provider-broken" and "nonexistent_module_xyz" in failure.error
    config = {"providers": {"echo": [{"provider_id": "b", "provider_type": "remote::broken"}]}}
    with pytest.raises(ConfigError) as exc:
        create_app(config, plugins=plugins)
    message = exc.value.message
    assert (
        "pip install stack-provider-broken" in message
        and "'broken' from package 'stack-provider-broken'" in message
    )


def test_allow_and_deny_lists(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dist(site, "stack-provider-ext", "ext", "tplug_good", GOOD)
    monkeypatch.setenv("STACK_DISABLE_PLUGINS", "ext")
    assert "ext" not in discover().loaded
    monkeypatch.delenv("STACK_DISABLE_PLUGINS")
    monkeypatch.setenv("STACK_PLUGINS", "someother")
    assert set(discover().loaded) == {"core"}


def test_misspelled_hook_is_rejected(site: Path) -> None:
    source = "from stack_core import hookimpl\n@hookimpl\ndef stack_register_provider(register): pass\n"
    make_dist(site, "stack-provider-typo", "typo", "tplug_typo", source)
    with pytest.raises(PluginError, match="unknown hook"):
        discover()


def test_bad_registration_is_a_failure_naming_the_plugin(site: Path) -> None:
    source = (
        "from stack_core import hookimpl\n@hookimpl\ndef stack_register_providers(register):\n"
        "    register(api='echo', provider_type='noprefix', config=dict, factory=print)\n"
    )
    make_dist(site, "stack-provider-bad", "bad", "tplug_bad", source)
    (failure,) = discover().failures
    assert failure.package == "stack-provider-bad" and "must look like 'remote::name'" in failure.error


LAZY_API = """
from stack_core import ApiRef, hookimpl

@hookimpl
def stack_register_apis(register):
    register(ApiRef("chant", "tplug_chant_spec:CHANT_API"))
    register(ApiRef("misnamed", "tplug_chant_spec:CHANT_API"))
    register(ApiRef("absent", "tplug_no_such_module:SPEC"))
"""

CHANT_SPEC = """
from dataclasses import replace
import echo_plugin

CHANT_API = replace(echo_plugin.ECHO_API, name="chant", resource=None)
"""


def test_api_ref_is_imported_on_first_use(site: Path) -> None:
    make_dist(site, "stack-api-chant", "chant", "tplug_chant", LAZY_API)
    (site / "tplug_chant_spec.py").write_text(CHANT_SPEC)
    plugins = discover()
    assert "tplug_chant_spec" not in sys.modules and not plugins.failures
    spec = plugins.api("chant")
    assert spec.name == "chant" and spec.routes == echo_plugin.ECHO_API.routes
    assert plugins.apis["chant"] is spec and "tplug_chant_spec" in sys.modules
    with pytest.raises(
        PluginError, match=r"API 'misnamed': tplug_chant_spec:CHANT_API is not an ApiSpec named"
    ):
        plugins.api("misnamed")
    with pytest.raises(PluginError, match=r"API 'absent': cannot import tplug_no_such_module:SPEC"):
        plugins.api("absent")


BY_REFERENCE = """
from stack_core import hookimpl

@hookimpl
def stack_register_providers(register):
    register(api="echo", provider_type="remote::ghost", config="tplug_ghost_config:Config",
             factory="tplug_no_such_module:create")
    register(api="echo", provider_type="remote::malformed", config="Config", factory=print)
"""


async def test_provider_references_resolve_when_configured(site: Path) -> None:
    make_dist(site, "stack-provider-ghost", "ghost", "tplug_ghost", BY_REFERENCE)
    (site / "tplug_ghost_config.py").write_text(
        "from stack_core import ConfigModel\nclass Config(ConfigModel):\n    url: str\n"
    )
    plugins = discover({"echo": echo_plugin})
    (failure,) = plugins.failures
    assert "'package.module:NAME' reference" in failure.error and "remote::malformed" in failure.error
    assert "tplug_ghost_config" not in sys.modules
    config = {
        "providers": {
            "echo": [{"provider_id": "g", "provider_type": "remote::ghost", "config": {"url": "u"}}]
        }
    }
    app = create_app(config, plugins=plugins)
    with pytest.raises(PluginError) as exc:
        async with app.router.lifespan_context(app):
            pass
    assert "tplug_ghost_config" in sys.modules
    assert (
        "provider type 'remote::ghost' (package 'stack-provider-ghost'): cannot import tplug_no_such_module"
        in exc.value.message
    )


def test_missing_provider_type_says_what_to_install(plugins: object) -> None:
    config = {"providers": {"echo": [{"provider_id": "v", "provider_type": "remote::vllm"}]}}
    with pytest.raises(ConfigError, match=r"pip install stack-provider-vllm.*Installed echo providers: "):
        create_app(config, plugins=plugins)  # type: ignore[arg-type]


def test_unknown_api_lists_known_ones(plugins: object) -> None:
    with pytest.raises(ConfigError, match=r"unknown API 'speech'.*echo"):
        create_app({"apis": ["speech"]}, plugins=plugins)  # type: ignore[arg-type]


async def test_provider_missing_protocol_method_fails_start(plugins: object) -> None:
    config = {"providers": {"echo": [{"provider_id": "x", "provider_type": "inline::incomplete"}]}}
    app = create_app(config, plugins=plugins)  # type: ignore[arg-type]
    with pytest.raises(PluginError, match=r"provider 'x' \(inline::incomplete.*missing method echo\(\)"):
        async with app.router.lifespan_context(app):
            pass


async def test_provider_config_errors_name_the_yaml_path(plugins: object) -> None:
    config = {
        "providers": {
            "echo": [
                {"provider_id": "x", "provider_type": "inline::echo", "config": {"prefx": "a", "port": "x"}}
            ]
        }
    }
    app = create_app(config, plugins=plugins)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as exc:
        async with app.router.lifespan_context(app):
            pass
    assert "providers.echo[0].config.prefx: unknown field" in exc.value.message
    assert "providers.echo[0].config.port: Input should be a valid integer" in exc.value.message
