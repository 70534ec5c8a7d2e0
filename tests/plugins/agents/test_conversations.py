"""The Conversations API over `stack run` with the openai SDK, and responses made in a conversation."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from responses_stack import MODEL

from stack_core.testing import StackServer

WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def said(role: str, text: str) -> Any:
    return {"type": "message", "role": role, "content": text}


def test_a_conversation_round_trip(client: openai.OpenAI, server: StackServer) -> None:
    conv = client.conversations.create(metadata={"topic": "demo"}, items=[said("user", "hello")])
    assert conv.id.startswith("conv_") and conv.object == "conversation"
    assert client.conversations.retrieve(conv.id).metadata == {"topic": "demo"}
    assert client.conversations.update(conv.id, metadata={"topic": "new"}).metadata == {"topic": "new"}
    added = client.conversations.items.create(conv.id, items=[said("assistant", "hi"), said("user", "bye")])
    assert [i.content[0].text for i in added.data] == ["hi", "bye"]  # type: ignore[union-attr]
    page = client.conversations.items.list(conv.id, limit=2)
    assert page.has_more and len(page.data) == 2
    every = list(client.conversations.items.list(conv.id, limit=2, order="asc"))
    first = every[0]
    assert [i.role for i in every] == ["user", "assistant", "user"]  # type: ignore[union-attr]
    assert client.conversations.items.retrieve(first.id, conversation_id=conv.id).id == first.id  # type: ignore[union-attr]
    assert client.conversations.items.delete(first.id, conversation_id=conv.id).id == conv.id  # type: ignore[union-attr]
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(first.id, conversation_id=conv.id)  # type: ignore[union-attr]
    alias = httpx.get(f"{server.url}/v1/openai/v1/conversations/{conv.id}/items")
    assert alias.status_code == 200 and len(alias.json()["data"]) == 2
    assert client.conversations.delete(conv.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conv.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list(conv.id)


def test_a_two_turn_conversation_through_responses(client: openai.OpenAI) -> None:
    conv = client.conversations.create()
    first = client.responses.create(
        model=MODEL, input="what is the weather in Oslo", tools=[WEATHER], conversation=conv.id
    )
    [call] = first.output
    assert call.type == "function_call" and first.conversation and first.conversation.id == conv.id
    answer: Any = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    second = client.responses.create(
        model=MODEL, input=[answer], tools=[WEATHER], conversation={"id": conv.id}
    )
    assert second.output_text == f"[{MODEL}] tool result: sunny"
    items = list(client.conversations.items.list(conv.id, order="asc"))
    assert [i.type for i in items] == ["message", "function_call", "function_call_output", "message"]
    # the history is the conversation's: the model sees its last user message
    third = client.responses.create(model=MODEL, input=[said("developer", "Be brief.")], conversation=conv.id)
    assert third.output_text == f"[{MODEL}] echo: what is the weather in Oslo"


def test_conversation_and_previous_response_id_are_exclusive(client: openai.OpenAI) -> None:
    conv = client.conversations.create()
    made = client.responses.create(model=MODEL, input="hi")
    with pytest.raises(openai.BadRequestError, match="previous_response_id"):
        client.responses.create(model=MODEL, input="hi", conversation=conv.id, previous_response_id=made.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input="hi", conversation="conv_missing")


def test_an_item_id_used_twice_is_a_client_error_that_loses_nothing(client: openai.OpenAI) -> None:
    conv = client.conversations.create(items=[{**said("user", "hello"), "id": "msg_1"}])
    with pytest.raises(openai.ConflictError, match=r"'.*msg_1' already exists"):
        client.conversations.items.create(conv.id, items=[{**said("user", "again"), "id": "msg_1"}])
    twice = [{**said("user", "a"), "id": "msg_2"}, {**said("user", "b"), "id": "msg_2"}]
    with pytest.raises(openai.BadRequestError, match="given more than once: msg_2"):
        client.conversations.items.create(conv.id, items=twice)
    kept = list(client.conversations.items.list(conv.id, order="asc"))
    assert [(i.id, i.content[0].text) for i in kept] == [("msg_1", "hello")]  # type: ignore[union-attr]
