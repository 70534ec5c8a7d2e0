"""Stored responses keep their own turn only: a chain of responses stores each item once, and the
history a response continues is rebuilt by walking ``previous_response_id`` (in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from responses_stack import MODEL, responses_config
from stack_provider_agents.adapter import ResponsesAdapter

from stack_core import create_app

WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
async def stack(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[openai.AsyncOpenAI, ResponsesAdapter]]:
    monkeypatch.setenv("STACK_HOME", str(tmp_path))
    app = create_app(responses_config(backend))
    async with app.router.lifespan_context(app):
        adapter = app.state.stack.api("responses").providers["builtin"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stack/v1") as http:
            yield openai.AsyncOpenAI(base_url="http://stack/v1", api_key="unused", http_client=http), adapter


async def test_a_chain_stores_each_turn_once(stack: tuple[openai.AsyncOpenAI, ResponsesAdapter]) -> None:
    client, adapter = stack
    first = await client.responses.create(model=MODEL, input="weather in Oslo?", tools=[WEATHER])
    answer: Any = {"type": "function_call_output", "call_id": first.output[0].call_id, "output": "sunny"}  # type: ignore[union-attr]
    second = await client.responses.create(
        model=MODEL, previous_response_id=first.id, input=[answer], tools=[WEATHER]
    )
    third = await client.responses.create(model=MODEL, previous_response_id=second.id, input="thanks")
    assert second.output_text == f"[{MODEL}] tool result: sunny"
    assert third.output_text == f"[{MODEL}] echo: thanks"
    bodies = [(await adapter.store.objects.get(r.id)).body for r in (first, second, third)]
    assert all(set(body) == {"response", "input"} and len(body["input"]) == 1 for body in bodies)
    kinds = ["message", "function_call", "function_call_output", "message", "message", "message"]
    assert [i.type for i in await adapter.store.history(third.id)] == kinds
    assert len((await client.responses.input_items.list(third.id)).data) == 1
    await client.responses.delete(first.id)  # the walk ends where the chain was cut
    assert [i.type for i in await adapter.store.history(third.id)] == kinds[2:]
