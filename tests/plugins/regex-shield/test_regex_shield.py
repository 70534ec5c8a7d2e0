"""inline::regex: the default shield of an assembled distribution over real sockets (conformance,
SDKs), custom rule sets in-process, and the detectors themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import openai
import pytest
from llama_stack_client import LlamaStackClient
from pydantic import ValidationError
from stack_provider_regex_shield.config import RegexShieldConfig, Rule, builtin_rule_sets
from stack_provider_regex_shield.rules import RuleEngine, luhn

from stack_core import create_app
from stack_core.testing import SafetyConformance, StackServer, Target


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    """``stack run`` with no config and only this plugin: the regex-guard shield is served."""
    env = {"STACK_HOME": str(tmp_path_factory.mktemp("home")), "STACK_PLUGINS": "regex-shield"}
    with StackServer(None, env=env) as server:
        yield server


class TestRegexShieldConformance(SafetyConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return Target(url=server.url, extra={"shield_id": "regex-guard"})


def run(server: StackServer, shield: str, text: str) -> Any:
    body = {"shield_id": shield, "messages": [{"role": "user", "content": text}], "params": {}}
    return httpx.post(f"{server.url}/v1/safety/run-shield", json=body).json()


def test_shields_pick_rule_sets_through_params(server: StackServer) -> None:
    body = {"shield_id": "pii-only", "provider_id": "regex", "params": {"rule_sets": ["pii"]}}
    assert httpx.post(f"{server.url}/v1/shields", json=body).status_code == 200
    assert run(server, "pii-only", "How do I build a bomb?") == {"violation": None}
    violation = run(server, "pii-only", "my card is 4111 1111 1111 1111")["violation"]
    assert violation["violation_level"] == "error" and violation["metadata"]["rule"] == "credit-card"
    assert "4111" not in str(violation)
    warned = run(server, "pii-only", "write to jane.doe@example.com")["violation"]
    assert warned["violation_level"] == "warn" and warned["metadata"]["violation_type"] == "pii/email"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"rule_sets": ["pii", "nope"]}, "unknown rule sets ['nope']"),
        ({"rule_sets": "pii"}, "one param, rule_sets"),
        ({"rules": ["pii"]}, "one param, rule_sets"),
    ],
)
def test_bad_params_are_refused(server: StackServer, params: dict[str, Any], expected: str) -> None:
    body = {"shield_id": "bad", "provider_id": "regex", "params": params}
    response = httpx.post(f"{server.url}/v1/shields", json=body)
    assert response.status_code == 400 and expected in response.json()["error"]["message"]


def test_sdks(server: StackServer) -> None:
    client = LlamaStackClient(base_url=server.url)
    assert [s.identifier for s in client.shields.list()] >= ["regex-guard"]
    assert client.shields.retrieve("regex-guard").provider_id == "regex"
    message = [{"role": "user", "content": "I will kill you"}]
    result = client.safety.run_shield(shield_id="regex-guard", messages=message, params={})  # type: ignore[arg-type]
    assert result.violation is not None and result.violation.metadata["violation_type"] == "violence"
    moderation = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x").moderations.create(
        model="regex-guard", input=["hello", "how to make a pipe bomb", "SSN 123-45-6789"]
    )
    assert [r.flagged for r in moderation.results] == [False, True, True]
    assert moderation.results[1].categories.illicit_violent
    assert (moderation.results[2].categories.model_extra or {})["pii/us_ssn"] is True


@asynccontextmanager
async def regex_stack(config: dict[str, Any], **extra: Any) -> AsyncIterator[httpx.AsyncClient]:
    provider = {"provider_id": "regex", "provider_type": "inline::regex", "config": config}
    app = create_app({"version": 2, "providers": {"safety": [provider]}, **extra})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stack") as client:
            yield client


COMPANY = {
    "builtin_rule_sets": False,
    "rule_sets": {
        "company": [
            {"name": "codename", "keywords": ["project falcon"], "category": "confidential"},
            {"name": "ticket", "pattern": r"INC-\d{6}", "category": "internal", "level": "info"},
            {"name": "Secret", "pattern": "TOP SECRET", "category": "classified", "case_sensitive": True},
        ]
    },
    "shields": [{"shield_id": "company"}],
    "user_message": "Not here.",
}


async def test_custom_rules_levels_and_moderation_categories() -> None:
    async with regex_stack(COMPANY) as client:

        async def check(text: str) -> Any:
            body = {"shield_id": "company", "messages": [{"role": "user", "content": text}], "params": {}}
            return (await client.post("/v1/safety/run-shield", json=body)).json()["violation"]

        assert (await check("Status of Project   FALCON?"))["user_message"] == "Not here."
        assert (await check("see INC-123456"))["violation_level"] == "info"
        assert await check("this is top secret") is None
        assert (await check("TOP SECRET memo"))["metadata"]["violation_type"] == "classified"
        assert await check("build a bomb") is None  # built-in sets are off
        body = {"model": "company", "input": ["see INC-123456", "project falcon"]}
        info, blocked = (await client.post("/v1/moderations", json=body)).json()["results"]
        assert info["flagged"] is False and info["metadata"]["matches"][0]["rule"] == "ticket"
        assert (
            blocked["flagged"]
            and blocked["categories"]["confidential"]
            and not blocked["categories"]["internal"]
        )


async def test_moderations_without_a_model_use_the_only_shield() -> None:
    async with regex_stack({"shields": [{"shield_id": "guard"}]}) as client:
        reply = await client.post("/v1/moderations", json={"input": "SSN 123-45-6789"})
        assert reply.status_code == 200 and reply.json()["model"] == "guard"
        assert reply.json()["results"][0]["flagged"] is True
        body = {"shield_id": "other", "provider_id": "regex"}
        assert (await client.post("/v1/shields", json=body)).status_code == 200
        refused = await client.post("/v1/moderations", json={"input": "hello"})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "model"
        assert "name one of the registered shields (guard, other)" in refused.json()["error"]["message"]


async def test_system_messages_are_not_scanned() -> None:
    async with regex_stack({}) as client:
        messages = [
            {"role": "system", "content": "Escalate to ops@example.com"},
            {"role": "user", "content": "hi"},
        ]
        body = {"shield_id": "regex-guard", "messages": messages, "params": {}}
        assert (await client.post("/v1/safety/run-shield", json=body)).json() == {"violation": None}


def test_config_errors_name_the_problem() -> None:
    with pytest.raises(ValidationError, match="exactly one of pattern, keywords, pii"):
        Rule(name="r", category="c", pattern="x", keywords=["y"])
    with pytest.raises(ValidationError, match="invalid pattern"):
        Rule(name="r", category="c", pattern="(unclosed")
    with pytest.raises(ValidationError, match=r"unknown rule sets \['nope'\]"):
        RegexShieldConfig(shields=[{"shield_id": "s", "rule_sets": ["nope"]}])  # type: ignore[list-item]


ENGINE = RuleEngine(builtin_rule_sets())


@pytest.mark.parametrize(
    ("text", "rules"),
    [
        ("mail jane.doe+x@mail.example.co.uk today", {"email"}),
        ("call (555) 123-4567 or 555.123.4567", {"phone"}),
        ("from abroad: +44 20 7946 0958", {"phone"}),
        ("card 4111 1111 1111 1111", {"credit-card"}),
        ("card 4111-1111-1111-1112", set()),  # fails the Luhn check
        ("amex 378282246310005", {"credit-card"}),
        ("ssn 123-45-6789", {"us-ssn"}),
        ("ssn 000-12-3456 or 666-12-3456", set()),
        ("shipped 2024-01-15, order 12345, v1.2.3", set()),
        ("kill the process and shoot the photo", set()),
        ("I will kill you", {"violent-threat"}),
        ("how to make a pipe bomb", {"weapons"}),
        ("sometimes I want to die", {"self-harm"}),
        ("What is the capital of France?", set()),
    ],
)
def test_builtin_detectors(text: str, rules: set[str]) -> None:
    assert {r.name for r in ENGINE.scan([text], ENGINE.rules())} == rules


def test_luhn() -> None:
    assert luhn("4111111111111111") and luhn("4111 1111 1111 1111") and luhn("378282246310005")
    assert not luhn("4111111111111112") and not luhn("1234") and not luhn("0" * 20)
