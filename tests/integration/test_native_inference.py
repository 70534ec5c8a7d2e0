"""The 0.2 line's native inference routes (``client.inference.*`` of ``llama-stack-client==0.2.12``),
served by translation onto the OpenAI-compatible provider calls, against `stack run` and the fake
backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import llama_stack_client
import pytest
from backends import fake_backend, inference_config, stack_server
from llama_stack_client import LlamaStackClient

from stack_core.testing import StackServer

pytestmark = pytest.mark.integration

WEATHER = {
    "tool_name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"city": {"param_type": "string", "description": "The city", "required": True}},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with fake_backend(models="model-a", embedding_models="embed-a") as url:
        config = inference_config(("backend", "remote::vllm", {"url": f"{url}/v1"}))
        with stack_server(config, tmp_path_factory.mktemp("home")) as server:
            yield server


@pytest.fixture
def client(server: StackServer) -> Iterator[LlamaStackClient]:
    with LlamaStackClient(base_url=server.url) as client:
        yield client


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def test_chat_completion(client: LlamaStackClient) -> None:
    reply = client.inference.chat_completion(
        model_id="model-a",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "ping"}]},
        ],
        sampling_params={"strategy": {"type": "top_p", "temperature": 0.7, "top_p": 0.9}, "max_tokens": 50},
    )
    message = reply.completion_message
    assert (message.content, message.stop_reason, message.tool_calls) == (
        "[model-a] echo: ping",
        "end_of_turn",
        [],
    )
    metrics = {m.metric: m.value for m in reply.metrics or ()}
    assert metrics["total_tokens"] == metrics["prompt_tokens"] + metrics["completion_tokens"] > 0


def test_chat_completion_out_of_tokens_with_logprobs(client: LlamaStackClient) -> None:
    reply = client.inference.chat_completion(
        model_id="model-a",
        messages=user("one two three four"),
        sampling_params={"strategy": {"type": "greedy"}, "max_tokens": 2},
        logprobs={"top_k": 2},
    )
    assert reply.completion_message.stop_reason == "out_of_tokens"
    assert reply.logprobs and len(reply.logprobs) == 2
    assert all(len(p.logprobs_by_token) == 2 for p in reply.logprobs)


def test_chat_completion_streams_events_without_done(client: LlamaStackClient) -> None:
    chunks = list(
        client.inference.chat_completion(model_id="model-a", messages=user("one two three"), stream=True)
    )
    kinds = [c.event.event_type for c in chunks]
    assert kinds[0] == "start" and kinds[-1] == "complete" and set(kinds[1:-1]) == {"progress"}
    text = "".join(c.event.delta.text for c in chunks if c.event.delta.type == "text")
    assert text == "[model-a] echo: one two three"
    assert chunks[-1].event.stop_reason == "end_of_turn"
    assert {m.metric for m in chunks[-1].metrics or ()} == {
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
    }


def test_chat_completion_tool_call_and_its_result(client: LlamaStackClient) -> None:
    question = user("weather in Paris?")
    reply = client.inference.chat_completion(model_id="model-a", messages=question, tools=[WEATHER])
    message = reply.completion_message
    assert message.stop_reason == "end_of_message"
    (call,) = message.tool_calls or []
    assert (call.tool_name, call.arguments) == ("get_weather", {"city": "weather in Paris?"})
    assert call.arguments_json == '{"city":"weather in Paris?"}' and call.call_id.startswith("call_")
    follow_up = [
        *question,
        {"role": "assistant", "content": "", "stop_reason": "end_of_message", "tool_calls": [call.to_dict()]},
        {"role": "tool", "call_id": call.call_id, "content": "18C and sunny"},
    ]
    answer = client.inference.chat_completion(model_id="model-a", messages=follow_up, tools=[WEATHER])  # type: ignore[arg-type]
    assert answer.completion_message.content == "[model-a] tool result: 18C and sunny"


def test_chat_completion_tool_call_streamed(client: LlamaStackClient) -> None:
    chunks = list(
        client.inference.chat_completion(
            model_id="model-a",
            messages=user("Lyon"),
            tools=[WEATHER],
            tool_config={"tool_choice": "get_weather"},
            stream=True,
        )
    )
    deltas = [c.event.delta for c in chunks if c.event.delta.type == "tool_call"]
    statuses = [d.parse_status for d in deltas]
    assert statuses[0] == "started" and statuses[-1] == "succeeded" and "in_progress" in statuses
    call = deltas[-1].tool_call
    assert not isinstance(call, str) and (call.tool_name, call.arguments) == ("get_weather", {"city": "Lyon"})
    assert "".join(str(d.tool_call) for d in deltas if d.parse_status == "in_progress") == '{"city":"Lyon"}'
    assert chunks[-1].event.stop_reason == "end_of_message"


def test_completion_plain_and_streamed(client: LlamaStackClient) -> None:
    reply = client.inference.completion(model_id="model-a", content="hello there")
    assert (reply.content, reply.stop_reason) == ("[model-a] echo: hello there", "end_of_turn")
    short = client.inference.completion(
        model_id="model-a",
        content="a b c d",
        sampling_params={"strategy": {"type": "greedy"}, "max_tokens": 1},
    )
    assert short.stop_reason == "out_of_tokens"
    chunks = list(client.inference.completion(model_id="model-a", content="four five", stream=True))
    assert "".join(c.delta for c in chunks) == "[model-a] echo: four five"  # type: ignore[attr-defined]
    assert chunks[-1].stop_reason == "end_of_turn"


def test_embeddings(client: LlamaStackClient, server: StackServer) -> None:
    reply = client.inference.embeddings(
        model_id="embed-a", contents=["a", "b"], text_truncation="end", task_type="document"
    )
    assert len(reply.embeddings) == 2 and len(reply.embeddings[0]) == 384
    openai = httpx.post(f"{server.url}/v1/embeddings", json={"model": "embed-a", "input": ["a"]}).json()
    assert reply.embeddings[0] == pytest.approx(openai["data"][0]["embedding"])
    items = client.inference.embeddings(
        model_id="embed-a", contents=[{"type": "text", "text": "a"}], output_dimension=8
    )
    assert len(items.embeddings[0]) == 8


def test_batches_fan_out(client: LlamaStackClient) -> None:
    chats = client.inference.batch_chat_completion(
        model_id="model-a", messages_batch=[user("one"), user("two")]
    )
    assert [r.completion_message.content for r in chats.batch] == [
        "[model-a] echo: one",
        "[model-a] echo: two",
    ]
    texts = client.inference.batch_completion(model_id="model-a", content_batch=["x", "y"])
    assert [r.content for r in texts.batch] == ["[model-a] echo: x", "[model-a] echo: y"]


def test_unknown_model_is_a_404_naming_model_id(client: LlamaStackClient, server: StackServer) -> None:
    with pytest.raises(llama_stack_client.NotFoundError, match="model-z"):
        client.inference.chat_completion(model_id="model-z", messages=user("x"))
    reply = httpx.post(
        f"{server.url}/v1/inference/chat-completion",
        json={"model_id": "model-z", "messages": user("x"), "stream": True},
    )
    error = reply.json()["error"]
    assert reply.status_code == 404 and (error["type"], error["param"]) == ("not_found_error", "model_id")
    assert "model-a" in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model_id"),
        ({"model_id": "model-a", "messages": []}, "messages"),
        ({"model_id": "model-a", "messages": [{"role": "user"}]}, "messages.0.user.content"),
        (
            {
                "model_id": "model-a",
                "messages": [{"role": "user", "content": "x"}],
                "sampling_params": {"strategy": {"type": "best"}},
            },
            "sampling_params.strategy",
        ),
        (
            {
                "model_id": "model-a",
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "grammar", "bnf": {}},
            },
            "response_format.type",
        ),
    ],
)
def test_bad_bodies_are_400s_naming_the_field(server: StackServer, body: dict[str, Any], param: str) -> None:
    reply = httpx.post(f"{server.url}/v1/inference/chat-completion", json=body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["param"] == param
