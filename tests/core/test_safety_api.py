"""The Safety API's kernel side: routing by shield (the identifier survives the router's rewrite),
moderation shapes, and the helpers providers use."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict

from stack_core import (
    ModerationRequest,
    ModerationResponse,
    ProviderContext,
    RegisterProvider,
    RunShieldRequest,
    RunShieldResponse,
    SafetyViolation,
    content_text,
    create_app,
    hookimpl,
    moderation_id,
    moderation_result,
)
from stack_core.apis.safety import OPENAI_MODERATION_CATEGORIES
from stack_core.plugins import discover


class ProbeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Probe:
    """Flags texts containing "bad" and records what the router handed it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def run_shield(self, request: RunShieldRequest) -> RunShieldResponse:
        self.seen.append((request.shield_id, request.shield_identifier))
        text = " ".join(content_text(m.get("content")) for m in request.messages)
        flagged = SafetyViolation(violation_level="error", metadata={"violation_type": "bad"})
        return RunShieldResponse(violation=flagged if "bad" in text else None)

    async def run_moderation(self, request: ModerationRequest) -> ModerationResponse:
        self.seen.append((request.model, request.shield_identifier))
        results = [moderation_result(["violence"] if "bad" in t else []) for t in request.texts()]
        return ModerationResponse(id=moderation_id(), model=request.shield_identifier, results=results)


PROBE = Probe()


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    def factory(config: ProbeConfig, context: ProviderContext) -> Probe:
        return PROBE

    register(api="safety", provider_type="inline::probe", config=ProbeConfig, factory=factory)


CONFIG = {
    "version": 2,
    "providers": {"safety": [{"provider_id": "probe", "provider_type": "inline::probe", "config": {}}]},
    "shields": [{"shield_id": "guard", "provider_shield_id": "probe-guard-v1"}],
}


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("STACK_PLUGINS", "core")
    plugins = discover({"probe": types.SimpleNamespace(stack_register_providers=stack_register_providers)})
    app = create_app(CONFIG, plugins=plugins)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stack") as client:
            yield client


async def test_run_shield_is_routed_with_the_identifier_kept(client: httpx.AsyncClient) -> None:
    body: dict[str, Any] = {"shield_id": "guard", "messages": [{"role": "user", "content": "fine"}]}
    assert (await client.post("/v1/safety/run-shield", json=body)).json() == {"violation": None}
    assert PROBE.seen[-1] == ("probe-guard-v1", "guard")
    body["messages"] = [{"role": "user", "content": [{"type": "text", "text": "bad"}]}]
    violation = (await client.post("/v1/safety/run-shield", json=body)).json()["violation"]
    assert violation == {
        "violation_level": "error",
        "user_message": None,
        "metadata": {"violation_type": "bad"},
    }


async def test_moderations_and_alias(client: httpx.AsyncClient) -> None:
    for path in ("/v1/moderations", "/v1/openai/v1/moderations"):
        body = (await client.post(path, json={"model": "guard", "input": ["ok", "bad"]})).json()
        assert body["model"] == "guard" and body["id"].startswith("modr-")
        assert [r["flagged"] for r in body["results"]] == [False, True]
    assert PROBE.seen[-1] == ("probe-guard-v1", "guard")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "guard", "input": []}, 400),
        ({"input": "x"}, 200),  # the only shield
        ({"model": "nope", "input": "x"}, 404),
    ],
)
async def test_moderation_statuses(client: httpx.AsyncClient, body: dict[str, Any], status: int) -> None:
    assert (await client.post("/v1/moderations", json=body)).status_code == status


async def test_unknown_shield_names_the_registered_ones(client: httpx.AsyncClient) -> None:
    body = {"shield_id": "nope", "messages": [{"role": "user", "content": "x"}]}
    response = await client.post("/v1/safety/run-shield", json=body)
    assert response.status_code == 404 and "Registered shields: guard" in response.json()["error"]["message"]


def test_content_text_reads_every_content_shape() -> None:
    assert content_text("plain") == "plain"
    assert content_text({"type": "text", "text": "part"}) == "part"
    parts = [{"type": "text", "text": "a"}, {"type": "image", "image": {"url": {"uri": "x"}}}, "b"]
    assert content_text(parts) == "a\nb" and content_text(None) == ""


def test_moderation_result_reports_every_category() -> None:
    result = moderation_result({"violence": 0.9}, known=["pii/email"], user_message="no")
    assert set(result.categories) == {*OPENAI_MODERATION_CATEGORIES, "pii/email"}
    assert result.flagged and result.categories["violence"] and result.category_scores["violence"] == 0.9
    assert result.category_applied_input_types["violence"] == ["text"] and result.user_message == "no"
    clean = moderation_result(())
    assert not clean.flagged and clean.user_message is None and not any(clean.categories.values())


def test_multimodal_input_is_one_text() -> None:
    request = ModerationRequest(model="m", input=[{"type": "text", "text": "hi"}, {"type": "image_url"}])
    assert request.texts() == ["hi"]
