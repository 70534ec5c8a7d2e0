"""``api_key`` auth: keys made with ``stack keys`` (in-process CLI), used against ``stack run``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from backends import fake_backend, inference_config, stack_server

from stack_core.cli import main

pytestmark = pytest.mark.integration


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


def key_in(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("sk-stack-"))


def test_keys_created_listed_used_and_revoked(
    tmp_path: Path, stack_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    offline = cli(capsys, "keys", "create", "--principal", "carol", "--no-store")
    entry = json.loads(offline.split("\n- ", 1)[1])
    with fake_backend(models="m1") as backend:
        auth = {"provider_config": {"type": "api_key", "keys": [entry]}}
        config = inference_config(("vllm", "remote::vllm", {"url": f"{backend}/v1"}), server={"auth": auth})
        path = tmp_path / "run.yaml"
        path.write_text(yaml.safe_dump(config))
        key = key_in(
            cli(capsys, "keys", "create", "--principal", "alice", "--attr", "teams=ml,nlp", str(path))
        )
        key_id = key[: len("sk-stack-") + 8]
        listing = cli(capsys, "keys", "list", str(path))
        with stack_server(config, stack_home) as server:

            def call(
                token: str, method: str = "GET", path: str = "/v1/models", **kw: object
            ) -> httpx.Response:
                headers = {"authorization": f"Bearer {token}"}
                return httpx.request(method, f"{server.url}{path}", headers=headers, **kw)  # type: ignore[arg-type]

            body = {"model_id": "alices", "provider_id": "vllm", "provider_model_id": "m1"}
            assert call(key, "POST", json=body).status_code == 200
            owner = call(key, path="/v1/models/alices").json()["owner"]
            assert (call(key_in(offline)).status_code, call(key + "x").status_code) == (200, 401)
            cli(capsys, "keys", "revoke", key_id, str(path))
            revoked = call(key)
            log = server.log()
    assert owner == {"principal": "alice", "attributes": {"teams": ["ml", "nlp"]}}
    assert revoked.status_code == 401 and revoked.headers["www-authenticate"].startswith("Bearer")
    assert key_id in listing and "alice" in listing and key not in listing
    assert key not in log and key_in(offline) not in log
    assert cli(capsys, "keys", "list", str(path)).splitlines()[2].rstrip().endswith("Z")  # revoked time
