"""The shipped examples: distributions plan with the installed plugins, from any directory; the ASGI
mount serves, its /docs page included."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from stack_core import create_app
from stack_core.distribution import SHIPPED
from stack_core.plugins import discover

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = sorted(SHIPPED.glob("*.yaml"))
ENV = {"INFERENCE_MODEL": "m", "SAFETY_MODEL": "guard"}


@pytest.mark.parametrize("path", DISTRIBUTIONS, ids=lambda p: p.stem)
def test_distribution_plans(path: Path) -> None:
    app = create_app(path, env=ENV)
    assert "inference" in {spec.name for spec in app.state.stack.plan()}


def test_a_distribution_is_found_by_name_outside_the_checkout(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "stack_core.cli", "config", "validate", "starter"]
    env = {**os.environ, "STACK_HOME": str(tmp_path / "home")}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("config OK")


def test_starter_switches_remote_providers_on_by_env() -> None:
    path = SHIPPED / "starter.yaml"
    bare = create_app(path, env={}).state.config.providers["inference"]
    with_vllm = create_app(path, env={"VLLM_URL": "http://x/v1"}).state.config.providers["inference"]
    assert [p.provider_id for p in bare] == ["sentence-transformers"]
    assert [p.provider_id for p in with_vllm] == ["sentence-transformers", "vllm"]


async def test_asgi_mount_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    spec = importlib.util.spec_from_file_location("asgi_mount", ROOT / "examples" / "asgi_mount.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    async with module.app.router.lifespan_context(module.app):
        transport = httpx.ASGITransport(app=module.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            assert (await client.get("/")).status_code == 200
            assert (await client.get("/llm/v1/health")).json() == {"status": "OK"}
            docs = (await client.get("/llm/docs")).text
            assert '"/llm/openapi.json"' in docs and '"/llm/docs/swagger-ui-bundle.js"' in docs
            assert (await client.get("/llm/docs/swagger-ui.css")).status_code == 200
            models = (await client.get("/llm/v1/models")).json()["data"]
    assert "all-MiniLM-L6-v2" in {m["id"] for m in models}


def test_the_starter_install_brings_what_the_defaults_serve() -> None:
    """starter.txt (the README's first command) lists the plugin of every provider type the starter
    distribution names, and only plugins that exist."""
    lines = [line.split("#")[0].strip() for line in (ROOT / "starter.txt").read_text().splitlines()]
    listed = {Path(line).name for line in lines if line.startswith("./plugins/")}
    assert listed <= {p.name for p in (ROOT / "plugins").iterdir()}
    plugins = discover()
    starter = yaml.safe_load((SHIPPED / "starter.yaml").read_text())["providers"]
    named = {(api, e["provider_type"]) for api, entries in starter.items() for e in entries}
    needed = {plugins.providers[key].package.removeprefix("stack-provider-") for key in named}
    assert needed - {"core"} <= listed, sorted(needed - listed)
