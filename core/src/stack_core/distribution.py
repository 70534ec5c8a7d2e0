"""Distributions: a run config assembled from installed plugins, or read by name.

With no config file, every installed inline provider is enabled with its sample config, and every
remote provider whose ``enable_env`` variable is set (``VLLM_URL``, ``OLLAMA_URL``, ...).
``stack run NAME`` reads ``NAME.yaml`` from ``$STACK_DISTRIBUTIONS_DIR`` or
``./examples/distributions``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .plugins import PluginSet

__all__ = ["assemble", "find_config"]


def assemble(plugins: PluginSet, env: Mapping[str, str]) -> dict[str, Any]:
    """An unresolved run-config tree (placeholders intact) from the installed providers."""
    providers: dict[str, list[dict[str, Any]]] = {}
    used: set[str] = set()
    for spec in plugins.providers_for():
        if spec.enable_env is not None and not env.get(spec.enable_env):
            continue
        if spec.enable_env is None and spec.is_remote:
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
    dirs = [os.environ.get("STACK_DISTRIBUTIONS_DIR", ""), "examples/distributions"]
    for directory in filter(None, dirs):
        candidate = Path(directory) / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no run config or distribution named {name!r}; looked for {name}.yaml in "
        f"{', '.join(d for d in dirs if d)}"
    )
