"""Every ``STACK_*`` variable the kernel or a plugin reads is declared in ``stack_core.environment``
and documented in ``docs/configuration.md``; every declared one is read somewhere."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from stack_core.environment import VARIABLES

REPO = Path(__file__).resolve().parents[2]
NAME = re.compile(r"(?<![A-Za-z0-9_])STACK_[A-Z0-9_]+")


def mentions() -> Counter[str]:
    """How often each ``STACK_*`` name occurs in the kernel's and the plugins' code and shipped
    configs (``environment.py``'s declarations included: one each)."""
    roots = [REPO / "core" / "src", *REPO.glob("plugins/*/src")]
    paths = [p for root in roots for p in root.rglob("*") if p.suffix in (".py", ".yaml")]
    return Counter(name for p in paths for name in NAME.findall(p.read_text()))


def test_every_stack_variable_is_declared_documented_and_used() -> None:
    found, declared = mentions(), {v.name for v in VARIABLES}
    docs = (REPO / "docs" / "configuration.md").read_text()
    assert found["STACK_HOME"] >= 2  # the scan sees the code
    assert set(found) - declared == set(), "declare these in stack_core/environment.py"
    assert {n for n in declared if found[n] < 2} == set(), "declared but read nowhere"
    undocumented = {n for n in found if f"| `{n}` |" not in docs}
    assert undocumented == set(), "run `stack docs config -o docs/configuration.md`"
