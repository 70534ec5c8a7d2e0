"""``custom`` auth against tests/support/auth_endpoint.py, through ``stack run`` on real sockets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from auth_endpoint import spawn_auth_endpoint
from backends import fake_backend, inference_config, stack_server

pytestmark = pytest.mark.integration

TOKENS = {"tok-alice": {"principal": "alice", "access_attributes": {"roles": ["admin"], "teams": ["ml"]}}}


def test_custom_endpoint_accepts_refuses_caches_and_outage_is_503(tmp_path: Path) -> None:
    endpoint, process = spawn_auth_endpoint(TOKENS, accept_all=False)
    try:
        with fake_backend(models="m1") as backend:
            auth = {"provider_config": {"type": "custom", "endpoint": f"{endpoint}/validate"}}
            config = inference_config(
                ("vllm", "remote::vllm", {"url": f"{backend}/v1"}), server={"auth": auth}
            )
            with stack_server(config, tmp_path) as server:
                ok = [
                    httpx.get(f"{server.url}/v1/models", headers={"authorization": "Bearer tok-alice"})
                    for _ in range(3)
                ]
                stats = httpx.get(f"{endpoint}/stats").json()
                refused = httpx.get(
                    f"{server.url}/v1/models", headers={"authorization": "Bearer tok-mallory"}
                )
                process.terminate()
                process.wait(10)
                down = httpx.get(f"{server.url}/v1/models", headers={"authorization": "Bearer tok-other"})
    finally:
        process.kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    assert [r.status_code for r in ok] == [200, 200, 200]
    assert stats["calls"] == 1 and stats["last_request"]["path"] == "/v1/models"
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json()["error"]["type"] == "authentication_error" and "tok-mallory" not in refused.text
    assert down.status_code == 503
