"""inline::llama-guard over real sockets: seed 004's Llama Guard config as written, the conformance
suite, both SDKs, registration checks and backend failures; the fake backend answers as Llama Guard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from backends import fake_backend
from llama_stack_client import LlamaStackClient
from stack_provider_llama_guard.config import LlamaGuardConfig
from stack_provider_llama_guard.prompt import Verdict, build_prompt, parse_verdict

from stack_core import ConfigError, create_app
from stack_core.testing import SafetyConformance, StackServer, Target

SEED = Path(__file__).with_name("seed_004_safety.yaml")
INFERENCE_MODEL, SAFETY_MODEL = "Llama-3.2-3B-Instruct", "Llama-Guard-3-1B"
UNSAFE = "How do I build a bomb to kill someone?"


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[str, str]]:
    with fake_backend(models=INFERENCE_MODEL) as normal, fake_backend(models=SAFETY_MODEL) as guard:
        yield normal, guard


@pytest.fixture(scope="module")
def server(backends: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    """Seed 004's configuration file, started as written with its env vars set."""
    normal, guard = backends
    env = {
        "STACK_HOME": str(tmp_path_factory.mktemp("home")),
        "VLLM_URL": f"{normal}/v1",
        "SAFETY_VLLM_URL": f"{guard}/v1",
        "INFERENCE_MODEL": INFERENCE_MODEL,
        "SAFETY_MODEL": SAFETY_MODEL,
    }
    with StackServer(SEED, env=env) as server:
        yield server


class TestLlamaGuardConformance(SafetyConformance):
    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        return Target(url=server.url, extra={"shield_id": SAFETY_MODEL})


def run_shield(server: StackServer, shield: str, text: str) -> httpx.Response:
    body = {"shield_id": shield, "messages": [{"role": "user", "content": text}], "params": {}}
    return httpx.post(f"{server.url}/v1/safety/run-shield", json=body, timeout=30)


def test_seed_config_blocks_unsafe_and_passes_safe_through_run_shield(server: StackServer) -> None:
    assert run_shield(server, SAFETY_MODEL, "Tell me about Paris").json() == {"violation": None}
    violation = run_shield(server, SAFETY_MODEL, UNSAFE).json()["violation"]
    assert violation["violation_level"] == "error"
    assert violation["metadata"] == {
        "violation_type": "S1,S9",
        "categories": ["Violent Crimes", "Indiscriminate Weapons"],
    }
    chat = {"model": INFERENCE_MODEL, "messages": [{"role": "user", "content": "hi"}]}
    reply = httpx.post(f"{server.url}/v1/chat/completions", json=chat).json()
    assert reply["choices"][0]["message"]["content"] == f"[{INFERENCE_MODEL}] echo: hi"


def test_seed_config_through_the_openai_sdk_moderations(server: StackServer) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    safe = client.moderations.create(model=SAFETY_MODEL, input="Tell me about Paris")
    assert safe.model == SAFETY_MODEL and [r.flagged for r in safe.results] == [False]
    unsafe = client.moderations.create(model=SAFETY_MODEL, input=["hello", UNSAFE])
    assert [r.flagged for r in unsafe.results] == [False, True]
    flagged = unsafe.results[1]
    assert flagged.categories.violence and flagged.categories.illicit_violent
    assert not flagged.categories.sexual and flagged.category_scores.violence == 1.0
    with pytest.raises(openai.NotFoundError, match="no-such-shield"):
        client.moderations.create(model="no-such-shield", input="x")


def test_llama_stack_client_shields_and_run_shield(server: StackServer) -> None:
    client = LlamaStackClient(base_url=server.url)
    assert SAFETY_MODEL in [s.identifier for s in client.shields.list()]
    seeded = client.shields.retrieve(SAFETY_MODEL)
    assert seeded.provider_id == "llama-guard" and seeded.provider_resource_id == SAFETY_MODEL
    lenient = client.shields.register(
        shield_id="guard-lenient",
        provider_id="llama-guard",
        provider_shield_id=SAFETY_MODEL,
        params={"excluded_categories": ["S1", "S9"]},
    )
    assert lenient.identifier == "guard-lenient" and client.shields.retrieve("guard-lenient").params
    message = [{"role": "user", "content": UNSAFE}]
    blocked = client.safety.run_shield(shield_id=SAFETY_MODEL, messages=message, params={})  # type: ignore[arg-type]
    assert blocked.violation is not None and blocked.violation.violation_level == "error"
    assert blocked.violation.metadata["violation_type"] == "S1,S9"
    passed = client.safety.run_shield(shield_id="guard-lenient", messages=message, params={})  # type: ignore[arg-type]
    assert passed.violation is None


def test_shield_ids_with_a_slash_can_be_retrieved(server: StackServer) -> None:
    body = {"shield_id": "meta-llama/guard", "provider_id": "llama-guard", "provider_shield_id": SAFETY_MODEL}
    assert httpx.post(f"{server.url}/v1/shields", json=body).status_code == 200
    assert httpx.get(f"{server.url}/v1/shields/meta-llama/guard").status_code == 200


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"provider_shield_id": "Llama-Guard-9"}, "'Llama-Guard-9', which is not a registered model"),
        ({"params": {"model": "nope"}}, "'nope', which is not a registered model"),
        ({"params": {"excluded": ["S1"]}}, "unknown params ['excluded']"),
        ({"params": {"excluded_categories": ["S99"]}}, "unknown codes ['S99']"),
    ],
)
def test_registration_is_refused_with_a_clear_message(
    server: StackServer, body: dict[str, Any], expected: str
) -> None:
    request = {"shield_id": "refused", "provider_id": "llama-guard", **body}
    response = httpx.post(f"{server.url}/v1/shields", json=request)
    assert response.status_code == 400 and expected in response.json()["error"]["message"]
    if "registered model" in expected:
        assert SAFETY_MODEL in response.json()["error"]["message"]


def test_a_model_that_is_not_llama_guard_is_a_provider_error(server: StackServer) -> None:
    body = {"shield_id": "not-a-guard", "provider_id": "llama-guard", "provider_shield_id": INFERENCE_MODEL}
    assert httpx.post(f"{server.url}/v1/shields", json=body).status_code == 200
    response = run_shield(server, "not-a-guard", "hello")
    assert response.status_code == 502 and "unexpected reply" in response.json()["error"]["message"]


@asynccontextmanager
async def in_process(config: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stack") as client:
            yield client


def guard_config(url: str, **extra: Any) -> dict[str, Any]:
    vllm = {"url": url, "max_retries": 0, "connect_timeout": 1}
    inference = {"provider_id": "guard-vllm", "provider_type": "remote::vllm", "config": vllm}
    return {
        "version": 2,
        "providers": {
            "safety": [{"provider_id": "llama-guard", "provider_type": "inline::llama-guard", "config": {}}],
            "inference": [inference],
        },
        **extra,
    }


async def test_shield_naming_an_unregistered_model_stops_start_up(backends: tuple[str, str]) -> None:
    config = guard_config(f"{backends[1]}/v1", shields=[{"shield_id": "Llama-Guard-9"}])
    with pytest.raises(ConfigError, match=r"shields\.0: Shield 'Llama-Guard-9' needs .* Registered models: "):
        async with in_process(config):
            pass


async def test_shield_whose_backend_is_down_is_503() -> None:
    config = guard_config(
        "http://127.0.0.1:9/v1",
        models=[{"model_id": SAFETY_MODEL, "provider_id": "guard-vllm"}],
        shields=[{"shield_id": SAFETY_MODEL}],
    )
    async with in_process(config) as client:
        body = {"shield_id": SAFETY_MODEL, "messages": [{"role": "user", "content": "hi"}], "params": {}}
        response = await client.post("/v1/safety/run-shield", json=body)
        assert response.status_code == 503 and response.json()["error"]["provider_id"] == "guard-vllm"
        moderation = await client.post("/v1/moderations", json={"model": SAFETY_MODEL, "input": "hi"})
        assert moderation.status_code == 503


def test_prompt_lists_categories_and_judges_the_last_turn() -> None:
    categories = {c: n for c, n in LlamaGuardConfig().categories.items() if c != "S5"}
    messages = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": "hello"},
    ]
    prompt = build_prompt(messages, categories)
    assert "S1: Violent Crimes.\nS2: Non-Violent Crimes." in prompt and "S5:" not in prompt
    assert "User: hi\n\nAgent: hello\n\n<END CONVERSATION>" in prompt and "be nice" not in prompt
    assert "ONLY THE LAST Agent message" in prompt and "in 'Agent' messages" in prompt


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("safe", Verdict(unsafe=False)),
        ("  safe\n", Verdict(unsafe=False)),
        ("unsafe\nS1,S3", Verdict(unsafe=True, codes=("S1", "S3"))),
        ("unsafe\n s10 , S1 \n", Verdict(unsafe=True, codes=("S10", "S1"))),
        ("unsafe", Verdict(unsafe=True)),
        ("I cannot comply", None),
        ("", None),
    ],
)
def test_parse_verdict(reply: str, verdict: Verdict | None) -> None:
    assert parse_verdict(reply) == verdict


def test_config_rejects_excluding_unknown_codes() -> None:
    with pytest.raises(ValueError, match="S99"):
        LlamaGuardConfig(excluded_categories=["S99"])
