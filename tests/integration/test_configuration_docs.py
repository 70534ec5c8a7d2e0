"""``docs/configuration.md`` is what ``stack docs config`` generates from this repository's
plugins, so no provider option lives only in its source."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from stack_core.plugins import GROUP, discover
from stack_core.reference import markdown

REPO = Path(__file__).resolve().parents[2]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_checked_in_reference_is_current() -> None:
    ours = {
        canonical(tomllib.loads(p.read_text())["project"]["name"])
        for p in REPO.glob("plugins/*/pyproject.toml")
    }
    eps = [e for e in entry_points(group=GROUP) if e.dist and canonical(e.dist.name) in ours | {"stack-core"}]
    missing = ours - {canonical(e.dist.name) for e in eps if e.dist}
    if missing:
        pytest.skip(f"needs every plugin of the repository installed; missing {sorted(missing)}")
    expected = markdown(discover(eps=eps))
    checked_in = (REPO / "docs" / "configuration.md").read_text()
    assert checked_in == expected, (
        "docs/configuration.md is stale: stack docs config -o docs/configuration.md"
    )
