"""The OpenAI shapes of a generation's events: chat and text completions, whole or streamed."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from .engine import Event, Finished, Text
from .plan import ToolCallPlan

Events = AsyncIterator[Event]


class _Shape:
    object: str
    chunk_object: str
    prefix: str

    def __init__(self, model: str) -> None:
        self.id, self.created, self.model = f"{self.prefix}-{uuid.uuid4().hex}", int(time.time()), model

    def body(self, **fields: Any) -> dict[str, Any]:
        return {"id": self.id, "object": self.object, "created": self.created, "model": self.model, **fields}

    def chunk(self, **fields: Any) -> dict[str, Any]:
        return {**self.body(**fields), "object": self.chunk_object}

    def usage_chunk(self, finished: Finished) -> dict[str, Any]:
        return self.chunk(choices=[], usage=usage(finished))


def usage(finished: Finished) -> dict[str, int]:
    total = finished.prompt_tokens + finished.completion_tokens
    return {
        "prompt_tokens": finished.prompt_tokens,
        "completion_tokens": finished.completion_tokens,
        "total_tokens": total,
    }


async def _collect(events: Events) -> tuple[str, Finished]:
    parts: list[str] = []
    finished = Finished("stop", 0, 0)
    async for event in events:
        if isinstance(event, Text):
            parts.append(event.text)
        elif isinstance(event, Finished):
            finished = event
    return "".join(parts), finished


class ChatShape(_Shape):
    """``chat.completion`` / ``chat.completion.chunk``; with a ``ToolCallPlan``, the generated text
    is a tool call (its arguments streamed as they come when the function is known up front)."""

    object, chunk_object, prefix = "chat.completion", "chat.completion.chunk", "chatcmpl"

    def __init__(self, model: str, call: ToolCallPlan | None) -> None:
        super().__init__(model)
        self.call, self.call_id = call, f"call_{uuid.uuid4().hex[:24]}"

    async def whole(self, events: Events) -> dict[str, Any]:
        text, finished = await _collect(events)
        call = self._tool_call(text)
        message: dict[str, Any] = {"role": "assistant", "content": None if call else text}
        if call:
            message["tool_calls"] = [call]
        choice = {"index": 0, "message": message, "finish_reason": _reason(finished, call), "logprobs": None}
        return self.body(choices=[choice], usage=usage(finished))

    async def chunks(self, events: Events, include_usage: bool) -> AsyncGenerator[dict[str, Any], None]:
        streamed_call = self.call is not None and self.call.name is not None
        yield self._chunk({"role": "assistant", "content": None if self.call else ""})
        if streamed_call:
            yield self._chunk({"tool_calls": [self._call_head("")]})
        held: list[str] = []  # a call whose function the model picks is sent whole, once parsed
        finished = Finished("stop", 0, 0)
        async for event in events:
            if isinstance(event, Finished):
                finished = event
            elif not isinstance(event, Text):
                continue
            elif self.call is None:
                yield self._chunk({"content": event.text})
            elif streamed_call:
                yield self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": event.text}}]})
            else:
                held.append(event.text)
        call = self._tool_call("".join(held)) if held or streamed_call else None
        if held:
            yield self._chunk({"tool_calls": [{"index": 0, **call}]} if call else {"content": "".join(held)})
        yield self._chunk({}, _reason(finished, call))
        if include_usage:
            yield self.usage_chunk(finished)

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return self.chunk(choices=[choice])

    def _call_head(self, arguments: str, name: str | None = None) -> dict[str, Any]:
        function = {"name": name or (self.call.name if self.call else None), "arguments": arguments}
        return {"index": 0, "id": self.call_id, "type": "function", "function": function}

    def _tool_call(self, text: str) -> dict[str, Any] | None:
        """The call generated as ``text``; None when it is not a whole call (cut by max_tokens)."""
        if self.call is None:
            return None
        if self.call.name is not None:
            call = self._call_head(text)
        else:
            try:
                picked = json.loads(text)
                call = self._call_head(json.dumps(picked["arguments"]), picked["name"])
            except (ValueError, KeyError, TypeError):
                return None
        del call["index"]
        return call


def _reason(finished: Finished, call: dict[str, Any] | None) -> str:
    return "tool_calls" if call and finished.reason == "stop" else finished.reason


class CompletionShape(_Shape):
    """``text_completion``, whole or streamed."""

    object = chunk_object = "text_completion"
    prefix = "cmpl"

    async def whole(self, events: Events) -> dict[str, Any]:
        text, finished = await _collect(events)
        choice = {"index": 0, "text": text, "finish_reason": finished.reason, "logprobs": None}
        return self.body(choices=[choice], usage=usage(finished))

    async def chunks(self, events: Events, include_usage: bool) -> AsyncGenerator[dict[str, Any], None]:
        finished = Finished("stop", 0, 0)
        async for event in events:
            if isinstance(event, Text):
                yield self._chunk(event.text)
            elif isinstance(event, Finished):
                finished = event
        yield self._chunk("", finished.reason)
        if include_usage:
            yield self.usage_chunk(finished)

    def _chunk(self, text: str, finish_reason: str | None = None) -> dict[str, Any]:
        return self.body(
            choices=[{"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}]
        )
