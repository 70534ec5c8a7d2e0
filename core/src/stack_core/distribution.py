"""Distributions: a run config assembled from installed plugins, or read by name.

With no config file, every installed inline provider is enabled with its sample config, and every
remote provider whose ``enable_env`` variable is set (``VLLM_URL``, ``OLLAMA_URL``, ...); an inline
``fallback`` provider only while no remote provider of its API is enabled;
``nothing_enabled`` says what would enable the installed providers when that leaves nothing.
``stack run NAME`` reads ``NAME.yaml`` from ``$STACK_DISTRIBUTIONS_DIR``, then from the
distributions shipped in this package (``stack_core/distributions``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .hookspecs import ProviderSpec
from .plugins import PluginSet

__all__ = ["SHIPPED", "assemble", "find_config", "nothing_enabled", "shipped_distributions"]

SHIPPED = Path(__file__).parent / "distributions"


def assemble(plugins: PluginSet, env: Mapping[str, str]) -> dict[str, Any]:
    """An unresolved run-config tree (placeholders intact) from the installed providers."""
    providers: dict[str, list[dict[str, Any]]] = {}
    used: set[str] = set()
    enabled = [s for s in plugins.providers_for() if _enabled(s, env)]
    remote_apis = {s.api for s in enabled if s.is_remote}
    for spec in enabled:
        if spec.fallback and spec.api in remote_apis:
            continue
        if any(dep not in {s.api for s in plugins.providers_for()} for dep in spec.deps):
            continue
        provider_id = spec.default_id if spec.default_id not in used else f"{spec.default_id}-{spec.api}"
        used.add(provider_id)
        providers.setdefault(spec.api, []).append(
            {
                "provider_id": provider_id,
                "provider_type": spec.provider_type,
                "config": dict(spec.sample_config),
            }
        )
    _drop_unmet(providers, plugins)
    return {"version": 2, "image_name": "default", "apis": sorted(providers), "providers": providers}


def _enabled(spec: ProviderSpec, env: Mapping[str, str]) -> bool:
    if spec.enable_env is not None:
        return bool(env.get(spec.enable_env))
    return not spec.is_remote


def _drop_unmet(providers: dict[str, list[dict[str, Any]]], plugins: PluginSet) -> None:
    changed = True
    while changed:
        changed = False
        for api, entries in list(providers.items()):
            kept = [
                e
                for e in entries
                if all(d in providers for d in plugins.providers[(api, e["provider_type"])].deps)
            ]
            if len(kept) != len(entries):
                changed = True
                if kept:
                    providers[api] = kept
                else:
                    del providers[api]


def find_config(name: str) -> Path:
    """A config file path from a path or a distribution name."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    if path.suffix in (".yaml", ".yml") or os.sep in name:
        raise ConfigError(f"run config {name!r} does not exist")
    dirs = [Path(d) for d in (os.environ.get("STACK_DISTRIBUTIONS_DIR"),) if d] + [SHIPPED]
    for directory in dirs:
        candidate = directory / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no run config or distribution named {name!r}; looked for {name}.yaml in "
        f"{', '.join(map(str, dirs))} (shipped: {', '.join(shipped_distributions())})"
    )


def shipped_distributions() -> list[str]:
    """Names of the distributions shipped in stack-core (``stack run NAME``)."""
    return sorted(p.stem for p in SHIPPED.glob("*.yaml"))


def _how_to_enable(spec: ProviderSpec, plugins: PluginSet, env: Mapping[str, str]) -> str:
    if spec.enable_env is not None and not env.get(spec.enable_env):
        return f"set {spec.enable_env}"
    if spec.enable_env is None and spec.is_remote:
        return "name it in a run config"
    missing = [d for d in spec.deps if not plugins.providers_for(d)]
    if missing:
        return f"install a provider for {', '.join(missing)}"
    return f"enable a provider for {', '.join(spec.deps)}"


def nothing_enabled(plugins: PluginSet, env: Mapping[str, str]) -> str:
    """Why a distribution assembled from ``plugins`` under ``env`` serves nothing, and what each
    installed provider needs to be enabled (derived from what the providers declare)."""
    specs = plugins.providers_for()
    lines = [
        f"  {spec.provider_type} ({spec.api}, package {spec.package}): {_how_to_enable(spec, plugins, env)}"
        for spec in specs
    ]
    installed = (
        "Installed providers and what enables them:\n" + "\n".join(lines)
        if lines
        else "No provider package is installed (e.g. `pip install stack-provider-vllm`)."
    )
    return (
        "nothing to serve: no run config was named and no installed provider is enabled, so no API "
        f"would be served.\n{installed}\nOr name a run config or distribution: `stack run CONFIG` "
        f"(shipped: {', '.join(shipped_distributions())}), or set STACK_CONFIG."
    )
