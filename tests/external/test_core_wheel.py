"""stack-core's wheel carries the distributions, so ``stack run starter`` works outside a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from stack_core.distribution import SHIPPED

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_every_distribution(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        str(tmp_path),
        str(REPO / "core"),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("stack_core-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"stack_core/distributions/{p.name}" for p in SHIPPED.glob("*.yaml")}
    assert len(shipped) >= 2 and shipped <= names
