"""Requests turned into generation plans: constraints, tool calls, and what is refused up front."""

from __future__ import annotations

from typing import Any

import pytest
from stack_provider_llama_cpp.plan import ANY_JSON_OBJECT, ToolCallPlan, chat_plan, completion_plan

from stack_core import BadRequestError, ChatCompletionRequest, CompletionRequest

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
TIME = {"type": "function", "function": {"name": "get_time"}}


def chat(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], **fields)


def test_sampling_defaults_and_openai_parameters() -> None:
    plan = chat_plan(chat(temperature=0, top_p=0.5, seed=7, stop="END", max_completion_tokens=9))
    s = plan.sampling
    assert (s.temperature, s.top_p, s.seed, s.stop, s.max_tokens) == (0.0, 0.5, 7, ("END",), 9)
    assert plan.constraint is None and plan.call is None
    assert chat_plan(chat()).sampling.temperature == 0.8


def test_content_parts_become_text() -> None:
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    request = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": parts}])
    assert chat_plan(request).messages[0]["content"] == "a\nb"


@pytest.mark.parametrize(
    ("response_format", "constraint"),
    [
        ({"type": "text"}, None),
        ({"type": "json_object"}, ANY_JSON_OBJECT),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array"}}},
            {"type": "array"},
        ),
    ],
)
def test_response_formats_become_constraints(response_format: dict[str, Any], constraint: Any) -> None:
    assert chat_plan(chat(response_format=response_format)).constraint == constraint


def test_a_named_function_constrains_the_arguments_to_its_parameters() -> None:
    plan = chat_plan(
        chat(tools=[WEATHER, TIME], tool_choice={"type": "function", "function": {"name": "get_weather"}})
    )
    assert plan.call == ToolCallPlan("get_weather") and plan.constraint == {"type": "object"}


def test_required_with_several_tools_lets_the_model_pick_under_one_grammar() -> None:
    plan = chat_plan(chat(tools=[WEATHER, TIME], tool_choice="required"))
    assert plan.call == ToolCallPlan(None)
    names = [branch["properties"]["name"] for branch in plan.constraint["anyOf"]]  # type: ignore[index]
    assert names == [{"const": "get_weather"}, {"const": "get_time"}]
    assert chat_plan(chat(tools=[WEATHER], tool_choice="required")).call == ToolCallPlan("get_weather")


def test_auto_and_none_generate_text() -> None:
    assert chat_plan(chat(tools=[WEATHER], tool_choice="auto")).call is None
    assert chat_plan(chat(tools=[WEATHER], tool_choice="none")).tools == ()


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
        ),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format"),
    ],
)
def test_what_cannot_be_served_is_a_400_naming_the_parameter(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        chat_plan(chat(**fields))
    assert refused.value.param == param


def test_completions_take_one_string_prompt() -> None:
    assert completion_plan(CompletionRequest(model="m", prompt="Once")).prompt == "Once"
    with pytest.raises(BadRequestError, match="single string"):
        completion_plan(CompletionRequest(model="m", prompt=["a", "b"]))
