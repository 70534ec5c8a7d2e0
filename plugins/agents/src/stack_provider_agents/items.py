"""Conversation items (the Responses API's) as the chat messages the agent loop sends.

A response's history is its previous response's history, its own input and its output, all items.
``conversation(items)`` folds them into chat messages: calls become an assistant message's
``tool_calls`` (parallel calls share one), their outputs ``tool`` messages. An approved
``mcp_approval_request`` not yet run becomes a pending call, for the loop to run first; a denied one
is answered for the model with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from stack_core import ToolCall, paginate
from stack_core.apis.responses import (
    FileSearchCall,
    FileSearchResult,
    FunctionCall,
    FunctionCallOutput,
    InputImage,
    InputText,
    Item,
    McpApprovalRequest,
    McpApprovalResponse,
    McpCall,
    Message,
    OutputText,
)

from .loop import Message as ChatMessage

_PREFIX = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "mcp_approval_response": "mcpa",
}


def new_id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(16).hex()}"


def with_ids(items: Sequence[Item]) -> list[Item]:
    """The items, each given an id if it has none (input items are listed by id)."""
    return [i if i.id else i.model_copy(update={"id": new_id(_PREFIX.get(i.type, "item"))}) for i in items]


def with_parts(item: Item) -> Item:
    """A message with text content as OpenAI stores it: one ``input_text`` part (``output_text``
    for the assistant's), ``completed``; other items as they are."""
    if not isinstance(item, Message) or not isinstance(item.content, str):
        return item
    part = OutputText(text=item.content) if item.role == "assistant" else InputText(text=item.content)
    return item.model_copy(update={"content": [part], "status": item.status or "completed"})


@dataclass(frozen=True)
class _Row:
    id: str
    item: Item


def item_page(
    items: Sequence[Item], order: str, limit: int, after: str | None = None, before: str | None = None
) -> dict[str, Any]:
    """A page of items (oldest first, all with ids) as an item list's fields: ``data``,
    ``first_id``, ``last_id``, ``has_more``."""
    page, more = paginate([_Row(i.id or "", i) for i in items], order, limit, after, before)
    return {
        "data": [row.item for row in page],
        "first_id": page[0].id if page else None,
        "last_id": page[-1].id if page else None,
        "has_more": more,
    }


def file_search_text(results: Sequence[FileSearchResult]) -> str:
    """Search results as the model reads them."""
    if not results:
        return "file_search found no results."
    found = [
        f"[{n}] {r.filename} (file {r.file_id}, score {r.score:.3f}):\n{r.text}"
        for n, r in enumerate(results, 1)
    ]
    return f"file_search found {len(results)} results:\n" + "\n\n".join(found)


@dataclass(frozen=True)
class Conversation:
    messages: list[ChatMessage]
    pending: list[ToolCall]
    """Approved calls not yet run, in the order they were approved."""
    approved: dict[str, str]
    """Call id → approval request id, for the pending calls."""


def _content(message: Message) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str) or not any(isinstance(p, InputImage) for p in message.content):
        return message.text()
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, InputImage):
            parts.append({"type": "image_url", "image_url": {"url": part.image_url or part.file_id or ""}})
        elif text := Message(role="user", content=[part]).text():
            parts.append({"type": "text", "text": text})
    return parts


class _Builder:
    def __init__(self) -> None:
        self.messages: list[ChatMessage] = []

    def call(self, call_id: str, name: str, arguments: str) -> None:
        last = self.messages[-1] if self.messages else None
        entry = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        if last is not None and last["role"] == "assistant" and "tool_calls" in last:
            last["tool_calls"].append(entry)
        else:
            self.messages.append({"role": "assistant", "content": None, "tool_calls": [entry]})

    def output(self, call_id: str, text: str) -> None:
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": text})


def conversation(items: Sequence[Item], instructions: str | None) -> Conversation:
    """The chat messages of a history, ``instructions`` first as a system message."""
    build = _Builder()
    if instructions:
        build.messages.append({"role": "system", "content": instructions})
    requests = {i.id: i for i in items if isinstance(i, McpApprovalRequest)}
    answered = {i.approval_request_id for i in items if isinstance(i, McpCall) and i.approval_request_id}
    pending: list[ToolCall] = []
    approved: dict[str, str] = {}
    for item in items:
        if isinstance(item, Message):
            role = "system" if item.role == "developer" else item.role
            build.messages.append({"role": role, "content": _content(item)})
        elif isinstance(item, FunctionCall):
            build.call(item.call_id, item.name, item.arguments)
        elif isinstance(item, FunctionCallOutput):
            output = item.output if isinstance(item.output, str) else orjson.dumps(item.output).decode()
            build.output(item.call_id, output)
        elif isinstance(item, McpCall):
            build.call(item.id, item.name, item.arguments)
            build.output(item.id, (item.output or "") if item.error is None else f"Error: {item.error}")
        elif isinstance(item, FileSearchCall):
            build.call(item.id, "file_search", orjson.dumps({"query": " ".join(item.queries)}).decode())
            build.output(item.id, file_search_text(item.results or []))
        elif isinstance(item, McpApprovalResponse) and item.approval_request_id not in answered:
            request = requests.get(item.approval_request_id)
            if request is None:
                continue
            call = ToolCall(new_id("call"), request.name, request.arguments)
            build.call(call.id, call.name, call.arguments)
            if item.approve:
                pending.append(call)
                approved[call.id] = request.id
            else:
                build.output(call.id, f"The user denied this call. {item.reason or ''}".strip())
    return Conversation(build.messages, pending, approved)
