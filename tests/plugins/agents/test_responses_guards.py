"""Guardrails (the ``inline::regex`` shield) on a response's input and answer, and a streaming
client that goes away: the backend stream it was reading is abandoned too."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from backends import stack_server
from responses_stack import MODEL, responses_config

from stack_core.testing import StackServer

GUARD = {"guardrails": ["guard"]}
RULES = {
    "rule_sets": {
        "test": [
            {"name": "threat", "keywords": ["dynamite"], "category": "violence", "message": "No threats."},
            {"name": "leak", "pattern": "echo: .*classified", "category": "leak", "message": "No leaks."},
        ]
    },
    "builtin_rule_sets": False,
    "shields": [{"shield_id": "guard", "rule_sets": ["test"]}],
}


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    safety = {"safety": [{"provider_id": "regex", "provider_type": "inline::regex", "config": RULES}]}
    with stack_server(responses_config(backend, safety), tmp_path_factory.mktemp("home")) as server:
        yield server


def chats(backend: str) -> int:
    stats: dict[str, Any] = httpx.get(f"{backend}/__stats").json()
    return int(stats["paths"].get("/v1/chat/completions", 0))


def refusal(response: Any) -> str:
    [message] = response.output
    [part] = message.content
    assert part.type == "refusal" and response.status == "completed"
    return str(part.refusal)


def test_an_input_violation_is_refused_before_the_model(client: openai.OpenAI, backend: str) -> None:
    before = chats(backend)
    response = client.responses.create(model=MODEL, input="where to buy dynamite", extra_body=GUARD)
    assert refusal(response) == "No threats." and chats(backend) == before


def test_an_answer_violation_is_refused(client: openai.OpenAI, backend: str) -> None:
    before = chats(backend)
    response = client.responses.create(model=MODEL, input="tell me the classified plan", extra_body=GUARD)
    assert refusal(response) == "No leaks." and chats(backend) == before + 1
    fine = client.responses.create(model=MODEL, input="tell me the plan", extra_body=GUARD)
    assert fine.output_text == f"[{MODEL}] echo: tell me the plan"


def test_a_client_that_goes_away_abandons_the_backend_stream(server: StackServer, backend: str) -> None:
    def abandoned() -> int:
        return int(httpx.get(f"{backend}/__stats").json()["abandoned_streams"])

    before = abandoned()
    httpx.post(f"{backend}/__control", json={"chunk_delay_ms": 300}).raise_for_status()
    try:
        body = {"model": MODEL, "input": " ".join(f"word{n}" for n in range(40)), "stream": True}
        with httpx.stream("POST", f"{server.url}/v1/responses", json=body, timeout=30) as reply:
            next(line for line in reply.iter_lines() if "output_text.delta" in line)
        deadline = time.monotonic() + 10
        while abandoned() == before:
            assert time.monotonic() < deadline, "the backend stream ran on after the client left"
            time.sleep(0.1)
    finally:
        httpx.post(f"{backend}/__control", json={"reset": True}).raise_for_status()
