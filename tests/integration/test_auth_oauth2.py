"""``oauth2_token`` against a fake JWKS/introspection endpoint, through ``stack run`` on real sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from backends import fake_backend, inference_config, stack_server
from fake_idp import AUDIENCE, ISSUER, FakeIdP, SigningKey, claims, forge

from stack_core.cli import main
from stack_core.testing import StackServer, free_port

pytestmark = pytest.mark.integration

JWKS_TOKEN = "jwks-bearer-5f1d"
ISSUED: list[str] = []  # every token sent to the module's server, grepped for in its log at the end
KEY, STRANGER = SigningKey("kid-1"), SigningKey("kid-1")


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    with fake_backend(models="m1") as url:
        yield url


@pytest.fixture(scope="module")
def idp() -> Iterator[FakeIdP]:
    with FakeIdP(jwks_token=JWKS_TOKEN) as idp:
        idp.jwks.append(KEY.jwk)
        yield idp


def config(backend: str, auth: dict[str, Any]) -> dict[str, Any]:
    vllm = ("vllm", "remote::vllm", {"url": f"{backend}/v1"})
    return inference_config(vllm, server={"auth": {"provider_config": {"type": "oauth2_token", **auth}}})


def jwks_auth(uri: str) -> dict[str, Any]:
    jwks = {"uri": uri, "token": JWKS_TOKEN, "min_refetch_interval": 0}
    return {"jwks": jwks, "issuer": ISSUER, "audience": AUDIENCE}


@pytest.fixture(scope="module")
def server(backend: str, idp: FakeIdP, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    home = tmp_path_factory.mktemp("home")
    env = {"STACK_ACCESS_LOG": "1", "STACK_LOG_LEVEL": "DEBUG"}
    with stack_server(config(backend, jwks_auth(f"{idp.url}/jwks")), home, env=env) as s:
        yield s


def get(server: StackServer, token: str) -> httpx.Response:
    ISSUED.append(token)
    return httpx.get(f"{server.url}/v1/models", headers={"authorization": f"Bearer {token}"})


def assert_refused(response: httpx.Response, token: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert set(response.json()["error"]) >= {"message", "type", "param", "code"}
    assert token not in response.text


REFUSED = {
    "expired": lambda: KEY.sign(claims(exp=int(time.time()) - 600, iat=int(time.time()) - 1200)),
    "not_yet_valid": lambda: KEY.sign(claims(nbf=int(time.time()) + 600)),
    "wrong_issuer": lambda: KEY.sign(claims(iss="https://evil.test")),
    "wrong_audience": lambda: KEY.sign(claims(aud="someone-else")),
    "bad_signature": lambda: STRANGER.sign(claims()),
    "alg_none": lambda: forge({"alg": "none", "kid": "kid-1"}, claims()),
    "hs256_public_key": lambda: forge({"alg": "HS256", "kid": "kid-1"}, claims(), secret=KEY.public_pem),
    "unknown_kid": lambda: KEY.sign(claims(), kid="kid-404"),
    "no_exp": lambda: KEY.sign({k: v for k, v in claims().items() if k != "exp"}),
    "garbage": lambda: "not-a-jwt",
}


def test_valid_token_is_accepted(server: StackServer) -> None:
    assert get(server, KEY.sign(claims())).status_code == 200


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_invalid_tokens_are_refused(server: StackServer, case: str) -> None:
    token = REFUSED[case]()
    assert_refused(get(server, token), token)


def test_key_rotation_is_picked_up(server: StackServer, idp: FakeIdP) -> None:
    rotated = SigningKey("kid-2")
    token = rotated.sign(claims())
    idp.jwks.append(rotated.jwk)
    try:
        assert get(server, token).status_code == 200
    finally:
        idp.jwks.remove(rotated.jwk)


def test_claims_become_the_owner_attributes(server: StackServer) -> None:
    token = KEY.sign(claims("bob", groups=["ml", "nlp"], namespace="research", project="p1"))
    headers = {"authorization": f"Bearer {token}"}
    body = {"model_id": "bobs", "provider_id": "vllm", "provider_model_id": "m1"}
    assert httpx.post(f"{server.url}/v1/models", json=body, headers=headers).status_code == 200
    owner = httpx.get(f"{server.url}/v1/models/bobs", headers=headers).json()["owner"]
    assert owner == {
        "principal": "bob",
        "attributes": {
            "roles": ["bob"],
            "teams": ["ml", "nlp"],
            "projects": ["p1"],
            "namespaces": ["research"],
        },
    }


def test_no_token_or_secret_in_providers_config_show_or_log(
    server: StackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    providers = (
        get(server, KEY.sign(claims())).text
        + httpx.get(f"{server.url}/v1/providers", headers={"authorization": f"Bearer {ISSUED[-1]}"}).text
    )
    assert main(["config", "show", str(server.config_path)]) == 0
    shown, log = capsys.readouterr().out, server.log()
    assert "oauth2_token" in shown and "DEBUG" in log
    for secret in [JWKS_TOKEN, *ISSUED]:
        assert secret not in providers and secret not in shown and secret not in log


def test_jwks_endpoint_down_is_503(backend: str, tmp_path: Path) -> None:
    with stack_server(config(backend, jwks_auth(f"http://127.0.0.1:{free_port()}/jwks")), tmp_path) as server:
        response = get(server, KEY.sign(claims()))
    assert response.status_code == 503 and response.json()["error"]["type"] == "service_unavailable"


def test_introspection_active_inactive_down(backend: str, tmp_path: Path) -> None:
    with FakeIdP() as idp:
        auth = {
            "introspection": {
                "url": f"{idp.url}/introspect",
                "client_id": "stack",
                "client_secret": "client-secret",
            }
        }
        idp.active["opaque-alice"] = {"sub": "alice", "groups": ["ml"], "exp": int(time.time()) + 600}
        with stack_server(config(backend, auth), tmp_path) as server:
            assert get(server, "opaque-alice").status_code == 200
            assert get(server, "opaque-alice").status_code == 200
            assert idp.calls["introspect"] == 1  # cached
            assert_refused(get(server, "opaque-unknown"), "opaque-unknown")
            idp.stop()
            assert get(server, "opaque-other").status_code == 503
            assert "client-secret" not in server.log()
