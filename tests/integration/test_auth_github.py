"""``github_token`` against a fake GitHub API, through ``stack run`` on real sockets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from backends import fake_backend, inference_config, stack_server
from fake_idp import FakeIdP

pytestmark = pytest.mark.integration


def test_github_token_user_orgs_cache_refusal_and_outage(tmp_path: Path) -> None:
    with fake_backend(models="m1") as backend, FakeIdP() as idp:
        idp.github["ghp_octo"] = {"login": "octocat", "id": 1, "orgs": ["github", "ml-team"]}
        auth = {"provider_config": {"type": "github_token", "github_api_base_url": f"{idp.url}/github"}}
        config = inference_config(("vllm", "remote::vllm", {"url": f"{backend}/v1"}), server={"auth": auth})
        with stack_server(config, tmp_path) as server:
            headers = {"authorization": "Bearer ghp_octo"}
            body = {"model_id": "octo", "provider_id": "vllm", "provider_model_id": "m1"}
            assert httpx.post(f"{server.url}/v1/models", json=body, headers=headers).status_code == 200
            owner = httpx.get(f"{server.url}/v1/models/octo", headers=headers).json()["owner"]
            assert idp.calls["github_user"] == 1  # the second request was served from the cache
            refused = httpx.get(f"{server.url}/v1/models", headers={"authorization": "Bearer ghp_nope"})
            idp.stop()
            down = httpx.get(f"{server.url}/v1/models", headers={"authorization": "Bearer ghp_other"})
    assert owner == {
        "principal": "octocat",
        "attributes": {"roles": ["octocat"], "teams": ["github", "ml-team"]},
    }
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert "ghp_nope" not in refused.text
    assert down.status_code == 503
