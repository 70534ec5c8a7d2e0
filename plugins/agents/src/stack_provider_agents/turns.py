"""The agent loop's events as the 0.2 Agents API's turn events.

``StepStarted`` → ``step_start``; text and tool-call chunks → ``step_progress`` (tool calls
``started``, their argument text ``in_progress``, ``succeeded`` with the parsed call once the model
step is whole); ``StepDone`` → ``step_complete`` with the step's details (a shield step, which the
loop does not announce, gets its ``step_start`` first); ``LoopDone`` → ``turn_complete``, or
``turn_awaiting_input`` when calls of client tools are pending (the output message then holds
them, ``end_of_message``, as the 0.2 ``Agent`` expects before it resumes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from stack_core import NativeDeltas, native_call, native_completion_message
from stack_core.apis.agents import (
    InferenceStep,
    ShieldCallStep,
    Step,
    StepComplete,
    StepProgress,
    StepStart,
    ToolExecutionStep,
    ToolResponse,
    Turn,
    TurnAwaitingInput,
    TurnComplete,
    TurnPayload,
    TurnStart,
)
from stack_core.apis.inference_native import CompletionMessage, StopReason, TextDelta, ToolCall
from stack_core.apis.safety import SafetyViolation

from . import loop

_STOP: dict[str, StopReason] = {"length": "out_of_tokens", "client_tools": "end_of_message"}


def at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _step(step: loop.Step, turn_id: str) -> Step:
    times = {"step_id": step.step_id, "turn_id": turn_id, "started_at": at(step.started_at)}
    times["completed_at"] = at(step.completed_at)
    if isinstance(step, loop.InferenceStep):
        return InferenceStep(**times, model_response=native_completion_message(step.result))
    if isinstance(step, loop.ToolStep):
        return ToolExecutionStep(
            **times,
            tool_calls=[native_call(c)[0] for c in step.calls],
            tool_responses=[
                ToolResponse(call_id=c.id, tool_name=c.name, content=o.message_text())
                for c, o in zip(step.calls, step.outcomes, strict=True)
            ],
        )
    violation = (
        SafetyViolation(violation_level="error", user_message=step.violation)
        if step.violation is not None
        else None
    )
    return ShieldCallStep(**times, violation=violation)


def client_step(
    turn_id: str, step_id: str, calls: Sequence[ToolCall], responses: Sequence[ToolResponse], started: float
) -> ToolExecutionStep:
    """The step of the caller's answers to client tool calls (a resumed turn's first)."""
    return ToolExecutionStep(
        step_id=step_id,
        turn_id=turn_id,
        started_at=at(started),
        completed_at=datetime.now(UTC),
        tool_calls=list(calls),
        tool_responses=list(responses),
    )


class TurnRenderer:
    """Renders one run of the loop into ``turn``: the turn so far (steps of earlier runs of a
    resumed turn included), then its output."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self._announced: set[str] = set()
        self._deltas = NativeDeltas()

    def start(self) -> list[TurnPayload]:
        return [TurnStart(turn_id=self.turn.turn_id)]

    def steps(self, *steps: Step) -> list[TurnPayload]:
        """Steps made outside the loop (the caller's tool responses), announced and completed."""
        payloads: list[TurnPayload] = []
        for step in steps:
            payloads.append(StepStart(step_type=step.step_type, step_id=step.step_id))
            payloads.extend(self._complete(step))
        return payloads

    def _complete(self, step: Step) -> list[TurnPayload]:
        self.turn.steps.append(step)
        return [StepComplete(step_type=step.step_type, step_id=step.step_id, step_details=step)]

    def feed(self, event: loop.LoopEvent) -> list[TurnPayload]:
        if isinstance(event, loop.StepStarted):
            self._announced.add(event.step_id)
            self._deltas = NativeDeltas()
            return [StepStart(step_type=event.kind, step_id=event.step_id)]
        if isinstance(event, loop.TextChunk):
            return [
                StepProgress(step_type="inference", step_id=event.step_id, delta=TextDelta(text=event.text))
            ]
        if isinstance(event, loop.ToolCallChunk):
            return [
                StepProgress(step_type="inference", step_id=event.step_id, delta=delta)
                for delta in self._deltas.delta(event.delta)
            ]
        if isinstance(event, loop.StepDone):
            return self._done(event.step)
        if isinstance(event, loop.LoopDone):
            return [self._end(event.result)]
        return []  # a server tool call's start and end are in its step's details

    def _done(self, done: loop.Step) -> list[TurnPayload]:
        step = _step(done, self.turn.turn_id)
        payloads: list[TurnPayload] = []
        if done.step_id not in self._announced:
            payloads.append(StepStart(step_type=step.step_type, step_id=step.step_id))
        if isinstance(done, loop.InferenceStep):
            payloads.extend(
                StepProgress(step_type="inference", step_id=step.step_id, delta=delta)
                for delta in self._deltas.calls(done.result)
            )
        return payloads + self._complete(step)

    def _end(self, result: loop.LoopResult) -> TurnPayload:
        waiting = result.stop_reason == "client_tools"
        self.turn.output_message = CompletionMessage(
            content=result.text,
            stop_reason=_STOP.get(result.stop_reason, "end_of_turn"),
            tool_calls=[native_call(c)[0] for c in result.pending] if waiting else [],
        )
        if waiting:
            return TurnAwaitingInput(turn=self.turn)
        self.turn.completed_at = datetime.now(UTC)
        return TurnComplete(turn=self.turn)
