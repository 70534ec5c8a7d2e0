"""``/docs`` rendered by headless Chromium from a real ``stack run``: Swagger UI, loaded from the
server's own assets, lists the served operations. Chromium is Debian's ``chromium`` (``.ci/run``
installs it); without it the test is skipped, except in CI where it fails."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from backends import stack_server

pytestmark = pytest.mark.integration

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=20000",  # lets the page fetch /openapi.json and render before the dump
    "--dump-dom",
)
FILES = {"providers": {"files": [{"provider_id": "f", "provider_type": "inline::localfs"}]}}


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    return found


def test_swagger_ui_lists_the_served_operations(tmp_path: Path) -> None:
    browser = chromium()
    with stack_server(FILES, tmp_path / "home") as server:
        profile = f"--user-data-dir={tmp_path / 'profile'}"
        command = [browser, *FLAGS, profile, f"{server.url}/docs"]
        dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    paths = set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom))
    assert {"/v1/files", "/v1/files/{file_id}", "/v1/files/{file_id}/content"} <= paths, dom[-2000:]
    assert "Failed to load API definition" not in dom
