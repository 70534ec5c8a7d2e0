"""What to generate: an OpenAI request turned into a prompt, sampling settings and a JSON
constraint, checked before it is queued (so a bad request never takes a slot)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stack_core import (
    BadRequestError,
    ChatCompletionRequest,
    CompletionRequest,
    UnsupportedError,
    content_text,
)

ANY_JSON_OBJECT: dict[str, Any] = {"type": "object"}
"""The constraint of ``response_format: json_object``: any JSON object (through the schema grammar,
whose whitespace is a single space: llama.cpp's generic JSON grammar lets a small model run away
with newlines and indentation)."""


@dataclass(frozen=True)
class Sampling:
    max_tokens: int | None
    temperature: float
    top_p: float
    seed: int | None
    stop: tuple[str, ...]
    presence_penalty: float
    frequency_penalty: float


@dataclass(frozen=True)
class ToolCallPlan:
    """The reply is one tool call. With ``name``, only the arguments are generated (constrained by
    that function's parameter schema); without, one of several tools is picked by the model,
    generated as ``{"name": ..., "arguments": {...}}``."""

    name: str | None


@dataclass(frozen=True)
class Plan:
    """One generation: chat ``messages`` (rendered by the model's own template in the worker) or a
    raw completion ``prompt``; ``constraint`` a JSON schema the output must match (grammar)."""

    sampling: Sampling
    messages: tuple[Mapping[str, Any], ...] = ()
    tools: tuple[Mapping[str, Any], ...] = ()
    prompt: str | None = None
    constraint: dict[str, Any] | None = None
    call: ToolCallPlan | None = None


def chat_plan(request: ChatCompletionRequest) -> Plan:
    _refuse_unsupported(request.n, request.logprobs)
    tools = tuple(request.tools or ()) if request.tool_choice != "none" else ()
    call = _tool_call_plan(tools, request.tool_choice)
    constraint = _call_schema(tools, call) if call else _response_schema(request.response_format)
    return Plan(
        sampling=_sampling(request, request.temperature, request.max_tokens, request.stop),
        messages=tuple(_message(m) for m in request.messages),
        tools=tools,
        constraint=constraint,
        call=call,
    )


def completion_plan(request: CompletionRequest) -> Plan:
    _refuse_unsupported(request.n, request.logprobs)
    if not isinstance(request.prompt, str):
        raise UnsupportedError("prompt must be a single string for inline::llama-cpp.", param="prompt")
    sampling = _sampling(request, request.temperature, request.max_tokens, request.stop)
    return Plan(sampling=sampling, prompt=request.prompt)


def tools_note(tools: tuple[Mapping[str, Any], ...]) -> dict[str, str]:
    """A system message describing the tools, for chat templates that do not render ``tools``."""
    functions = [t.get("function", t) for t in tools]
    return {"role": "system", "content": "You can call these functions:\n" + json.dumps(functions)}


def _refuse_unsupported(n: int | None, logprobs: object) -> None:
    if n not in (None, 1):
        raise UnsupportedError("inline::llama-cpp generates one choice per request: n must be 1.", param="n")
    if logprobs:
        raise UnsupportedError("inline::llama-cpp does not return logprobs.", param="logprobs")


def _sampling(
    request: ChatCompletionRequest | CompletionRequest,
    temperature: float | None,
    max_tokens: int | None,
    stop: str | list[str] | None,
) -> Sampling:
    """The request's sampling parameters (ranges already checked by the request model)."""
    completion_cap = getattr(request, "max_completion_tokens", None)
    return Sampling(
        max_tokens=max_tokens if max_tokens is not None else completion_cap,
        temperature=0.8 if temperature is None else float(temperature),
        top_p=0.95 if request.top_p is None else float(request.top_p),
        seed=request.seed,
        stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
        presence_penalty=float(request.presence_penalty or 0.0),
        frequency_penalty=float(request.frequency_penalty or 0.0),
    )


def _message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A message the way chat templates expect it: ``content`` as text, never None."""
    return {**message, "content": content_text(message.get("content"))}


def _function_name(tool: Mapping[str, Any]) -> str:
    name = (tool.get("function") or {}).get("name")
    if not isinstance(name, str):
        raise BadRequestError("every tool needs function.name.", param="tools")
    return name


def _tool_call_plan(
    tools: tuple[Mapping[str, Any], ...], choice: str | dict[str, Any] | None
) -> ToolCallPlan | None:
    names = [_function_name(t) for t in tools]
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if name not in names:
            raise BadRequestError(
                f"tool_choice names function {name!r}, which is not among the tools ({', '.join(names)}).",
                param="tool_choice",
            )
        return ToolCallPlan(name)
    if choice == "required":
        if not names:
            raise BadRequestError("tool_choice 'required' needs tools.", param="tool_choice")
        return ToolCallPlan(names[0] if len(names) == 1 else None)
    return None


def _call_schema(tools: tuple[Mapping[str, Any], ...], call: ToolCallPlan) -> dict[str, Any]:
    def parameters(tool: Mapping[str, Any]) -> dict[str, Any]:
        schema = tool["function"].get("parameters")
        return dict(schema) if schema else {"type": "object", "properties": {}}

    if call.name is not None:
        return parameters(next(t for t in tools if _function_name(t) == call.name))
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {"name": {"const": _function_name(t)}, "arguments": parameters(t)},
                "required": ["name", "arguments"],
            }
            for t in tools
        ]
    }


def _response_schema(response_format: Mapping[str, Any] | None) -> dict[str, Any] | None:
    kind = (response_format or {}).get("type", "text")
    if kind == "text":
        return None
    if kind == "json_object":
        schema = (response_format or {}).get("schema")  # llama-cpp-python's extension
        return dict(schema) if isinstance(schema, Mapping) else dict(ANY_JSON_OBJECT)
    if kind == "json_schema":
        schema = ((response_format or {}).get("json_schema") or {}).get("schema")
        if not isinstance(schema, Mapping):
            raise BadRequestError(
                "response_format json_schema needs json_schema.schema.", param="response_format"
            )
        return dict(schema)
    raise BadRequestError(f"Unknown response_format type {kind!r}.", param="response_format")
