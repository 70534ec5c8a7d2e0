"""The agent loop, transport-agnostic: it yields typed events that an API renders.

One turn: input shields → streamed inference with the tool definitions → the server tools the
model called, run concurrently (each call with its own arguments) → their results appended → again,
at most ``max_infer_iters`` model steps → output shields → ``LoopDone``. Calls of client tools
(no runner) and of tools that need approval end the loop early: ``LoopDone.result.pending`` holds
them for the caller to answer. Every step is recorded with its timings (and, for inference, its
token usage). Closing the generator (a client that went away) closes the backend stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from stack_core import (
    ChatDelta,
    ChatDone,
    ChatResult,
    InferenceClient,
    SafetyClient,
    StackError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)

Message = dict[str, Any]
StopReason = Literal["stop", "length", "client_tools", "approval", "shield", "max_infer_iters"]


@dataclass(frozen=True)
class ToolOutcome:
    """What a server tool answered: ``content`` for the model, or ``error``; ``data`` for renderers."""

    content: str = ""
    error: str | None = None
    data: Any = None

    def message_text(self) -> str:
        return f"Error: {self.error}" if self.error is not None else self.content


ToolRunner = Callable[[ToolCall], Awaitable[ToolOutcome]]


@dataclass(frozen=True)
class LoopTool:
    """A tool the model may call: its chat-completions ``definition``; ``run`` for a server tool
    (``None``: the caller runs it); ``needs_approval``: the caller approves each call first."""

    name: str
    definition: Mapping[str, Any]
    run: ToolRunner | None = None
    needs_approval: bool = False


@dataclass(frozen=True)
class Turn:
    """One turn's input. ``pending``: calls already in ``messages`` (an assistant message's
    ``tool_calls``) that were approved since, run before the first model step. ``params``: further
    chat parameters (``temperature``, ``top_p``, ``max_tokens``, ``parallel_tool_calls``)."""

    model: str
    messages: Sequence[Message]
    tools: Sequence[LoopTool] = ()
    pending: Sequence[ToolCall] = ()
    tool_choice: str | Mapping[str, Any] | None = None
    response_format: Mapping[str, Any] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    max_infer_iters: int = 10
    max_tool_calls: int | None = None
    input_shields: Sequence[str] = ()
    output_shields: Sequence[str] = ()
    stream: bool = True
    """Stream each model step (text and call arguments as they come); ``False``: one chat call
    per step, its text and calls given as whole chunks (the same events, fewer of them)."""


@dataclass(frozen=True)
class InferenceStep:
    step_id: str
    started_at: float
    completed_at: float
    result: ChatResult


@dataclass(frozen=True)
class ToolStep:
    step_id: str
    started_at: float
    completed_at: float
    calls: tuple[ToolCall, ...]
    outcomes: tuple[ToolOutcome, ...]


@dataclass(frozen=True)
class ShieldStep:
    step_id: str
    started_at: float
    completed_at: float
    shield_ids: tuple[str, ...]
    violation: str | None


Step = InferenceStep | ToolStep | ShieldStep


@dataclass(frozen=True)
class LoopResult:
    text: str
    stop_reason: StopReason
    pending: tuple[ToolCall, ...]
    steps: tuple[Step, ...]
    usage: Usage
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class StepStarted:
    step_id: str
    kind: Literal["inference", "tool_execution", "shield_call"]


@dataclass(frozen=True)
class TextChunk:
    step_id: str
    text: str


@dataclass(frozen=True)
class ToolCallChunk:
    step_id: str
    delta: ToolCallDelta


@dataclass(frozen=True)
class ToolCallStarted:
    step_id: str
    call: ToolCall


@dataclass(frozen=True)
class ToolCallDone:
    step_id: str
    call: ToolCall
    outcome: ToolOutcome


@dataclass(frozen=True)
class StepDone:
    step: Step


@dataclass(frozen=True)
class LoopDone:
    result: LoopResult


LoopEvent = StepStarted | TextChunk | ToolCallChunk | ToolCallStarted | ToolCallDone | StepDone | LoopDone


def _id() -> str:
    return os.urandom(16).hex()


def _add(a: Usage, b: Usage | None) -> Usage:
    if b is None:
        return a
    return Usage(
        a.prompt_tokens + b.prompt_tokens,
        a.completion_tokens + b.completion_tokens,
        a.total_tokens + b.total_tokens,
    )


class AgentLoop:
    """Runs turns over the Inference API, and the Safety API when a turn names shields."""

    def __init__(self, inference: InferenceClient, safety: Callable[[], SafetyClient]) -> None:
        self.inference, self._safety = inference, safety

    async def run(self, turn: Turn) -> AsyncIterator[LoopEvent]:
        """The turn's events, ending with ``LoopDone``."""
        state = _State(turn)
        if turn.input_shields:
            shield = await self._shield(turn.input_shields, state.messages)
            yield StepDone(shield)
            state.steps.append(shield)
            if shield.violation is not None:
                yield LoopDone(state.result(shield.violation, "shield"))
                return
        if turn.pending:
            async for event in self._tools(state, list(turn.pending)):
                yield event
        result: ChatResult | None = None
        for _ in range(turn.max_infer_iters):
            step_id = _id()
            yield StepStarted(step_id, "inference")
            started = time.time()
            async with contextlib.aclosing(self._infer(state)) as deltas:
                async for delta in deltas:
                    if isinstance(delta, TextDelta):
                        yield TextChunk(step_id, delta.text)
                    elif isinstance(delta, ToolCallDelta):
                        yield ToolCallChunk(step_id, delta)
                    elif isinstance(delta, ChatDone):
                        result = delta.result
            assert result is not None  # a stream ends with ChatDone
            step = InferenceStep(step_id, started, time.time(), result)
            state.steps.append(step)
            state.usage = _add(state.usage, result.usage)
            yield StepDone(step)
            if not result.tool_calls:
                break
            calls = [c.to_message() for c in result.tool_calls]
            state.messages.append({"role": "assistant", "content": result.text or None, "tool_calls": calls})
            held = [c for c in result.tool_calls if state.held(c)]
            async for event in self._tools(state, [c for c in result.tool_calls if not state.held(c)]):
                yield event
            if held:
                reason: StopReason = "client_tools" if any(map(state.is_client, held)) else "approval"
                yield LoopDone(state.result(result.text, reason, held))
                return
        else:
            yield LoopDone(state.result(result.text if result else "", "max_infer_iters"))
            return
        async for event in self._finish(state, result):
            yield event

    async def _infer(self, state: _State) -> AsyncGenerator[ChatDelta, None]:
        """One model step's deltas, ending with ``ChatDone``."""
        turn, offered = state.turn, state.offered()
        tools = {"tools": offered or None, "tool_choice": turn.tool_choice if offered else None}
        options = {**tools, "response_format": turn.response_format, **turn.params}
        if turn.stream:
            async with self.inference.chat_stream(turn.model, state.messages, **options) as stream:
                async for delta in stream:
                    yield delta
            return
        result = await self.inference.chat(turn.model, state.messages, **options)
        if result.text:
            yield TextDelta(result.text)
        for index, call in enumerate(result.tool_calls):
            yield ToolCallDelta(index, call.id, call.name, call.arguments)
        yield ChatDone(result)

    async def _finish(self, state: _State, result: ChatResult) -> AsyncIterator[LoopEvent]:
        if state.turn.output_shields:
            answer = [*state.messages, {"role": "assistant", "content": result.text}]
            step = await self._shield(state.turn.output_shields, answer)
            state.steps.append(step)
            yield StepDone(step)
            if step.violation is not None:
                yield LoopDone(state.result(step.violation, "shield"))
                return
        yield LoopDone(state.result(result.text, "length" if result.finish_reason == "length" else "stop"))

    async def _shield(self, shield_ids: Sequence[str], messages: Sequence[Message]) -> ShieldStep:
        started, safety = time.time(), self._safety()
        verdicts = await asyncio.gather(*(safety.run_shield(s, messages) for s in shield_ids))
        violation = next((v.violation.user_message for v in verdicts if v.violation is not None), None)
        return ShieldStep(_id(), started, time.time(), tuple(shield_ids), violation)

    async def _tools(self, state: _State, calls: list[ToolCall]) -> AsyncIterator[LoopEvent]:
        """Run server tool calls concurrently, each with its own arguments; append the results."""
        if not calls:
            return
        step_id, started = _id(), time.time()
        yield StepStarted(step_id, "tool_execution")
        for call in calls:
            yield ToolCallStarted(step_id, call)
        outcomes: dict[int, ToolOutcome] = {}
        running = {asyncio.ensure_future(state.execute(call)): n for n, call in enumerate(calls)}
        try:
            while running:  # each call's end as it comes, not when the slowest one ends
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=running.__getitem__):
                    n = running.pop(task)
                    outcomes[n] = task.result()
                    yield ToolCallDone(step_id, calls[n], outcomes[n])
        finally:
            for task in running:
                task.cancel()
        for n, call in enumerate(calls):
            state.messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": outcomes[n].message_text()}
            )
        ordered = tuple(outcomes[n] for n in range(len(calls)))
        step = ToolStep(step_id, started, time.time(), tuple(calls), ordered)
        state.steps.append(step)
        yield StepDone(step)


class _State:
    """A turn in progress: the conversation so far, the steps, the usage and the tool-call budget."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.messages: list[Message] = [dict(m) for m in turn.messages]
        self.steps: list[Step] = []
        self.usage = Usage()
        self.tools = {t.name: t for t in turn.tools}
        self.budget = turn.max_tool_calls

    def tool(self, call: ToolCall) -> LoopTool | None:
        return self.tools.get(call.name)

    def is_client(self, call: ToolCall) -> bool:
        tool = self.tool(call)
        return tool is not None and tool.run is None

    def held(self, call: ToolCall) -> bool:
        """Whether the caller must answer (a client tool) or approve the call first."""
        tool = self.tool(call)
        return tool is not None and (tool.run is None or tool.needs_approval)

    def offered(self) -> list[Mapping[str, Any]]:
        """The tool definitions: server tools only while the tool-call budget lasts."""
        exhausted = self.budget is not None and self.budget <= 0
        return [t.definition for t in self.turn.tools if not (exhausted and t.run is not None)]

    async def execute(self, call: ToolCall) -> ToolOutcome:
        tool = self.tool(call)
        if tool is None or tool.run is None:
            return ToolOutcome(error=f"There is no tool named '{call.name}'.")
        if self.budget is not None:
            if self.budget <= 0:
                return ToolOutcome(error="The limit of tool calls (max_tool_calls) was reached.")
            self.budget -= 1
        try:
            return await tool.run(call)
        except StackError as exc:
            return ToolOutcome(error=exc.message)

    def result(self, text: str, reason: StopReason, pending: Sequence[ToolCall] = ()) -> LoopResult:
        return LoopResult(text, reason, tuple(pending), tuple(self.steps), self.usage, tuple(self.messages))
