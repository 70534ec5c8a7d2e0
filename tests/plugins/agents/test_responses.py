"""inline::builtin Responses served by `stack run` over the fake backend behind remote::vllm, driven
by the openai SDK: plain, function tools across two responses, streaming, stored responses."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest
from auth_endpoint import spawn_auth_endpoint
from backends import stack_server
from responses_stack import MODEL, responses_config, sdk

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_a_plain_response(client: openai.OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="hello there", instructions="Be brief.")
    assert response.status == "completed" and response.id.startswith("resp_")
    assert response.output_text == f"[{MODEL}] echo: hello there"
    assert response.instructions == "Be brief." and response.usage is not None
    assert response.usage.output_tokens == len(response.output_text.split())


def test_a_function_tool_across_two_responses(client: openai.OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="what is the weather in Oslo", tools=[WEATHER])  # type: ignore[list-item]
    [call] = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "what is the weather in Oslo"}
    answer = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"}
    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[answer],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert second.output_text == f"[{MODEL}] tool result: sunny, 21 C"
    assert second.previous_response_id == first.id


def test_streaming_with_the_sdk_helper(client: openai.OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="stream this please") as stream:
        events = [event.type for event in stream]
        final = stream.get_final_response()
    assert final.output_text == f"[{MODEL}] echo: stream this please"
    assert events[:2] == ["response.created", "response.in_progress"] and events[-1] == "response.completed"
    assert events.count("response.output_text.delta") > 1 and "response.content_part.done" in events
    assert client.responses.retrieve(final.id).output_text == final.output_text


def test_streamed_function_call_arguments(client: openai.OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="weather in Rome?", tools=[WEATHER]) as stream:  # type: ignore[list-item]
        deltas = "".join(e.delta for e in stream if e.type == "response.function_call_arguments.delta")
        final = stream.get_final_response()
    [call] = final.output
    assert call.type == "function_call" and deltas == call.arguments


def test_stored_responses_retrieve_list_delete_and_input_items(client: openai.OpenAI) -> None:
    made = [client.responses.create(model=MODEL, input=f"number {n}") for n in range(3)]
    assert client.responses.retrieve(made[1].id).output_text == f"[{MODEL}] echo: number 1"
    listed = client.get("/responses", cast_to=object, options={"params": {"limit": 2}})
    assert [r["id"] for r in listed["data"]] == [made[2].id, made[1].id] and listed["has_more"]  # type: ignore[index]
    items = client.responses.input_items.list(made[0].id)
    assert [(i.type, i.role) for i in items.data] == [("message", "user")]  # type: ignore[union-attr]
    assert client.responses.delete(made[0].id) is None
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made[0].id)
    unstored = client.responses.create(model=MODEL, input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)


def test_json_schema_output(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    text = {"format": {"type": "json_schema", "name": "reply", "schema": schema}}
    response = client.responses.create(model=MODEL, input="give json", text=text)  # type: ignore[arg-type]
    assert json.loads(response.output_text) == {"answer": "give json"}


def test_another_users_response_is_404_and_responses_survive_a_restart(backend: str, tmp_path: Path) -> None:
    tokens = {"ta": {"principal": "alice"}, "tb": {"principal": "bob"}}
    auth_url, auth = spawn_auth_endpoint(tokens, accept_all=False)
    config = responses_config(
        backend, auth={"provider_config": {"type": "custom", "endpoint": f"{auth_url}/validate"}}
    )
    try:
        with stack_server(config, tmp_path) as server, sdk(server, "ta") as alice:
            made = alice.responses.create(model=MODEL, input="my secret")
        with stack_server(config, tmp_path) as server, sdk(server, "ta") as alice, sdk(server, "tb") as bob:
            assert alice.responses.retrieve(made.id).output_text == f"[{MODEL}] echo: my secret"
            for call in (
                lambda: bob.responses.retrieve(made.id),
                lambda: bob.responses.delete(made.id),
                lambda: bob.responses.input_items.list(made.id),
                lambda: bob.responses.create(model=MODEL, input="hi", previous_response_id=made.id),
            ):
                with pytest.raises(openai.NotFoundError):
                    call()
    finally:
        auth.terminate()
        auth.wait()
