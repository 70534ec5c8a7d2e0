"""The agent loop's events rendered as a Response: its output items and the named stream events.

A non-streaming request renders the same events and keeps only the final response, so the two
can not drift apart (``quiet``: its events are typed and numbered but not filled, no snapshots).
Text streams as a ``message`` item (``output_text`` part; an answer an output shield stops is
replaced by the refusal, though its deltas were streamed); calls of client tools stream as
``function_call`` items with their arguments; server tool calls appear when they start
(``in_progress``) and are done when they return (``mcp_call``, ``file_search_call``,
``web_search_call``); calls waiting for approval are ``mcp_approval_request`` items.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from stack_core import StackError, ToolCall
from stack_core.apis.responses import (
    FileSearchCall,
    FunctionCall,
    Item,
    ItemStatus,
    McpApprovalRequest,
    McpCall,
    Message,
    OutputText,
    Refusal,
    Response,
    ResponseError,
    ResponseEvent,
    ResponseUsage,
    WebSearchCall,
)

from .items import new_id
from .loop import (
    InferenceStep,
    LoopDone,
    LoopEvent,
    StepDone,
    StepStarted,
    TextChunk,
    ToolCallChunk,
    ToolCallDone,
    ToolCallStarted,
    ToolOutcome,
)
from .tools import Binding

Events = list[ResponseEvent]


class Renderer:
    """Folds loop events into ``response`` (its ``output``, status and usage), returning the
    stream events each one makes, numbered from 0."""

    def __init__(
        self,
        response: Response,
        bindings: Mapping[str, Binding],
        approved: Mapping[str, str],
        *,
        quiet: bool = False,
    ) -> None:
        self.response, self.bindings, self.approved = response, bindings, approved
        self.quiet = quiet  # nobody reads the events (a plain request): typed and numbered, unfilled
        self.sequence = 0
        self.message: tuple[int, Message] | None = None
        self.functions: dict[int, tuple[int, FunctionCall]] = {}
        self.running: dict[str, int] = {}

    def event(self, type: str, **fields: Any) -> ResponseEvent:
        if self.quiet:
            event = ResponseEvent.model_construct(type=type, sequence_number=self.sequence)
        else:
            event = ResponseEvent(type=type, sequence_number=self.sequence, **fields)
        self.sequence += 1
        return event

    def _lifecycle(self, type: str) -> ResponseEvent:
        # A snapshot: the renderer assigns the response's fields and replaces its output items,
        # never changes them in place, so copying the output list is enough (a deep copy of the
        # tools' schemas cost more than the rest of the rendering).
        if self.quiet:
            return self.event(type)
        return self.event(type, response=self.response.model_copy(update={"output": [*self.response.output]}))

    def start(self, items: list[Item]) -> Events:
        """``response.created`` and ``in_progress``, then items known up front (MCP listings)."""
        events = [self._lifecycle("response.created"), self._lifecycle("response.in_progress")]
        for item in items:
            events += self._whole(item)
        return events

    def _add(self, item: Item) -> tuple[int, ResponseEvent]:
        self.response.output.append(item)
        index = len(self.response.output) - 1
        shown = item if self.quiet else item.model_copy()  # the item itself changes as it streams
        return index, self.event("response.output_item.added", output_index=index, item=shown)

    def _done(self, index: int, item: Item) -> ResponseEvent:
        self.response.output[index] = item
        return self.event("response.output_item.done", output_index=index, item=item)

    def _whole(self, item: Item) -> Events:
        index, added = self._add(item)
        return [added, self._done(index, item)]

    def feed(self, event: LoopEvent) -> Events:
        if isinstance(event, StepStarted):
            self.message, self.functions = None, {}
            return []
        if isinstance(event, TextChunk):
            return self._text(event.text)
        if isinstance(event, ToolCallChunk):
            return self._arguments(event)
        if isinstance(event, StepDone) and isinstance(event.step, InferenceStep):
            return self._close_step(event.step)
        if isinstance(event, ToolCallStarted):
            return self._tool_started(event.call)
        if isinstance(event, ToolCallDone):
            return self._tool_done(event.call, event.outcome)
        if isinstance(event, LoopDone):
            return self._finish(event)
        return []

    # -- text and client calls, as the model streams them -------------------------------------

    def _text(self, text: str) -> Events:
        events: Events = []
        if self.message is None:
            message = Message(id=new_id("msg"), role="assistant", content=[], status="in_progress")
            index, added = self._add(message)
            self.message = (index, message)
            part = OutputText(text="")
            events += [added, self._part("response.content_part.added", part)]
        index, message = self.message
        common = {"item_id": message.id, "output_index": index, "content_index": 0}
        events.append(self.event("response.output_text.delta", delta=text, logprobs=[], **common))
        return events

    def _part(self, type: str, part: OutputText) -> ResponseEvent:
        assert self.message is not None
        index, message = self.message
        return self.event(type, item_id=message.id, output_index=index, content_index=0, part=part)

    def _arguments(self, chunk: ToolCallChunk) -> Events:
        delta = chunk.delta
        events: Events = []
        if delta.index not in self.functions:
            if delta.name is None or self.bindings.get(delta.name, Binding("function")).kind != "function":
                return []
            call = FunctionCall(
                id=new_id("fc"),
                call_id=delta.id or new_id("call"),
                name=delta.name,
                arguments="",
                status="in_progress",
            )
            index, added = self._add(call)
            self.functions[delta.index] = (index, call)
            events.append(added)
        index, call = self.functions[delta.index]
        if delta.arguments:
            events.append(
                self.event(
                    "response.function_call_arguments.delta",
                    item_id=call.id,
                    output_index=index,
                    delta=delta.arguments,
                )
            )
        return events

    def _close_step(self, step: InferenceStep) -> Events:
        events: Events = []
        if self.message is not None:
            index, message = self.message
            text = step.result.text
            part = OutputText(text=text)
            common = {"item_id": message.id, "output_index": index, "content_index": 0}
            events.append(self.event("response.output_text.done", text=text, logprobs=[], **common))
            events.append(self._part("response.content_part.done", part))
            events.append(
                self._done(index, message.model_copy(update={"content": [part], "status": "completed"}))
            )
        calls = step.result.tool_calls
        for position, (index, call) in sorted(self.functions.items()):
            final = calls[position] if position < len(calls) else None
            arguments = final.arguments if final is not None else call.arguments
            events.append(
                self.event(
                    "response.function_call_arguments.done",
                    item_id=call.id,
                    output_index=index,
                    arguments=arguments,
                )
            )
            update = {
                "arguments": arguments,
                "status": "completed",
                "call_id": final.id if final else call.call_id,
            }
            events.append(self._done(index, call.model_copy(update=update)))
        for made in calls:
            binding = self.bindings.get(made.name)
            if binding is not None and binding.kind == "mcp" and binding.needs_approval:
                request = McpApprovalRequest(
                    id=new_id("mcpr"),
                    server_label=binding.server_label or "",
                    name=made.name,
                    arguments=made.arguments,
                )
                events += self._whole(request)
        return events

    # -- server tools --------------------------------------------------------------------------

    def _server_item(self, call: ToolCall, outcome: ToolOutcome | None = None) -> Item | None:
        binding = self.bindings.get(call.name)
        item_id = f"item_{call.id}"
        if binding is None or binding.kind == "function":
            return None
        status: ItemStatus = "in_progress" if outcome is None else "failed" if outcome.error else "completed"
        if binding.kind == "mcp":
            return McpCall(
                id=item_id,
                server_label=binding.server_label or "",
                name=call.name,
                arguments=call.arguments,
                output=outcome.content if outcome and outcome.error is None else None,
                error=outcome.error if outcome else None,
                status=status,
                approval_request_id=self.approved.get(call.id),
            )
        if binding.kind == "file_search":
            data = outcome.data if outcome and isinstance(outcome.data, Mapping) else {}
            return FileSearchCall(
                id=item_id,
                queries=data.get("queries") or [],
                status=status,
                results=data.get("results"),
            )
        return WebSearchCall(id=item_id, status=status)

    def _tool_started(self, call: ToolCall) -> Events:
        item = self._server_item(call)
        if item is None:
            return []
        index, added = self._add(item)
        self.running[call.id] = index
        prefix = f"response.{item.type}"
        events = [added, self.event(f"{prefix}.in_progress", item_id=item.id, output_index=index)]
        if item.type != "mcp_call":
            events.append(self.event(f"{prefix}.searching", item_id=item.id, output_index=index))
        return events

    def _tool_done(self, call: ToolCall, outcome: ToolOutcome) -> Events:
        item = self._server_item(call, outcome)
        index = self.running.pop(call.id, None)
        if item is None or index is None:
            return []
        state = "failed" if outcome.error is not None and item.type == "mcp_call" else "completed"
        return [
            self.event(f"response.{item.type}.{state}", item_id=item.id, output_index=index),
            self._done(index, item),
        ]

    # -- the end -------------------------------------------------------------------------------

    def _finish(self, done: LoopDone) -> Events:
        result = done.result
        events: Events = []
        if result.stop_reason == "shield":
            events += self._refuse(result.text)
        usage = result.usage
        self.response.usage = ResponseUsage(
            input_tokens=usage.prompt_tokens,
            output_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
        )
        self.response.completed_at = int(time.time())
        if result.stop_reason in ("length", "max_infer_iters"):
            self.response.status = "incomplete"
            reason = "max_output_tokens" if result.stop_reason == "length" else "max_infer_iters"
            self.response.incomplete_details = {"reason": reason}
            return [*events, self._lifecycle("response.incomplete")]
        self.response.status = "completed"
        return [*events, self._lifecycle("response.completed")]

    def _refuse(self, text: str) -> Events:
        """The refusal: in place of the answer an output shield stopped (the response keeps no
        trace of it), or as a new message when an input shield stopped the turn."""
        refusal = Message(
            id=new_id("msg"), role="assistant", content=[Refusal(refusal=text)], status="completed"
        )
        if self.message is None:
            return self._whole(refusal)
        index, answer = self.message
        return [self._done(index, refusal.model_copy(update={"id": answer.id}))]

    def fail(self, error: StackError) -> Events:
        self.response.status = "failed"
        self.response.error = ResponseError(code=error.code or error.error_type, message=error.message)
        return [self._lifecycle("response.failed")]
