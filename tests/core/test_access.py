"""Access control: the default policy, explicit rules, and enforcement on every resource route."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from in_process import ECHO_CONFIG

from stack_core.access import AccessPolicy
from stack_core.errors import ConfigError
from stack_core.resources import Model, User

ALICE = User(principal="alice", attributes={"teams": ["ml"], "roles": ["dev"]})
BOB = User(principal="bob", attributes={"teams": ["web"]})
CAROL = User(principal="carol", attributes={"teams": ["ml"]})
ADMIN = User(principal="root", attributes={"roles": ["admin"]})


def model(owner: User | None) -> Model:
    return Model(identifier="m", provider_id="p", owner=owner)


def test_default_policy() -> None:
    policy = AccessPolicy()
    assert policy.allows(BOB, "use", model(None))
    assert not policy.allows(BOB, "delete", model(None)) and not policy.allows(BOB, "update", model(None))
    assert policy.allows(ADMIN, "delete", model(None)) and policy.allows(ADMIN, "delete", model(ALICE))
    assert policy.allows(ALICE, "delete", model(ALICE))
    assert policy.allows(CAROL, "read", model(ALICE))
    assert not policy.allows(BOB, "read", model(ALICE))
    assert policy.allows(None, "delete", model(ALICE))


def test_rules_first_match_wins_and_no_match_denies() -> None:
    policy = AccessPolicy.from_config(
        [
            {"permit": {"actions": ["create", "read", "use", "delete"]}, "when": "user with admin in roles"},
            {"forbid": {"actions": ["delete"], "resource": "model::*"}, "when": "user is not owner"},
            {"permit": {"actions": ["read", "use", "delete"]}, "when": "user is owner"},
            {"permit": {"actions": ["read", "use"]}, "when": "user in owners teams"},
        ]
    )
    assert policy.allows(ADMIN, "delete", model(ALICE))
    assert not policy.allows(CAROL, "delete", model(ALICE))
    assert policy.allows(CAROL, "use", model(ALICE))
    assert not policy.allows(BOB, "read", model(ALICE))
    assert policy.allows(ALICE, "delete", model(ALICE))


def test_bad_rules_fail_at_start() -> None:
    with pytest.raises(ConfigError, match=r"access_policy\[0\]"):
        AccessPolicy.from_config([{"permit": {"actions": ["fly"]}}])
    with pytest.raises(ConfigError, match="unknown condition"):
        AccessPolicy.from_config([{"permit": {"actions": ["read"]}, "when": "user is tall"}])


def secured() -> dict[str, Any]:
    config = copy.deepcopy(ECHO_CONFIG)
    config["server"] = {
        "auth": {
            "provider_config": {
                "type": "token_table",
                "tokens": {"ta": "alice", "tb": "bob", "tc": "carol"},
                "attributes": {
                    "alice": {"teams": ["ml"]},
                    "bob": {"teams": ["web"]},
                    "carol": {"teams": ["ml"]},
                },
            }
        }
    }
    return config


def as_(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_owned_resource_is_invisible_and_unusable_to_others(serve: Any) -> None:
    async with serve(secured()) as client:
        created = await client.post(
            "/v1/voices", json={"voice_id": "private", "provider_id": "echo-a"}, headers=as_("ta")
        )
        assert created.status_code == 200
        listed = (await client.get("/v1/voices", headers=as_("tb"))).json()["data"]
        assert "private" not in {v["identifier"] for v in listed} and "alto" in {
            v["identifier"] for v in listed
        }
        assert (await client.get("/v1/voices/private", headers=as_("tb"))).status_code == 404
        use = await client.post("/v1/echo", json={"voice": "private", "text": "x"}, headers=as_("tb"))
        assert (
            use.status_code == 404 and "private" not in use.json()["error"]["message"].split("Registered")[1]
        )
        assert (await client.delete("/v1/voices/private", headers=as_("tb"))).status_code == 404
        assert (
            await client.post("/v1/echo", json={"voice": "private", "text": "x"}, headers=as_("tc"))
        ).status_code == 200
        assert (await client.get("/v1/voices/private", headers=as_("ta"))).status_code == 200


async def test_policy_rules_apply_to_routes(serve: Any) -> None:
    config = secured()
    config["server"]["auth"]["access_policy"] = [
        {"forbid": {"actions": ["delete"]}, "when": "user is not owner"},
        {"permit": {"actions": ["create", "read", "use", "delete"]}, "when": "user is owner"},
        {"permit": {"actions": ["read", "use"]}, "when": "user in owners teams"},
        {"permit": {"actions": ["read", "use"]}, "when": "resource is unowned"},
    ]
    async with serve(config) as client:
        await client.post("/v1/voices", json={"voice_id": "team", "provider_id": "echo-a"}, headers=as_("ta"))
        assert (await client.get("/v1/voices/team", headers=as_("tc"))).status_code == 200
        denied = await client.delete("/v1/voices/team", headers=as_("tc"))
        assert denied.status_code == 403 and denied.json()["error"]["type"] == "permission_error"
        assert (await client.delete("/v1/voices/team", headers=as_("ta"))).status_code == 204


async def test_route_level_rules(serve: Any) -> None:
    config = secured()
    config["server"]["auth"]["provider_config"]["attributes"]["alice"] = {"roles": ["admin"]}
    config["server"]["auth"]["access_policy"] = [
        {
            "permit": {"actions": ["use"], "resource": "route::/v1/providers*"},
            "when": "user with admin in roles",
        },
        {"forbid": {"actions": ["use"], "resource": "route::/v1/providers*"}},
    ]
    async with serve(config) as client:
        assert (await client.get("/v1/providers", headers=as_("ta"))).status_code == 200
        denied = await client.get("/v1/providers/echo-a", headers=as_("tb"))
        assert denied.status_code == 403 and "/v1/providers/echo-a" in denied.json()["error"]["message"]
        assert (await client.get("/v1/voices", headers=as_("tb"))).status_code == 200


def test_route_rules_do_not_make_resource_rules_deny_by_default() -> None:
    policy = AccessPolicy.from_config([{"forbid": {"actions": ["use"], "resource": "route::/v1/secret"}}])
    assert policy.allows(BOB, "read", model(None)) and not policy.allows_route(BOB, "/v1/secret")
    assert policy.allows_route(BOB, "/v1/models")
