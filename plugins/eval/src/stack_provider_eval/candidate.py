"""How a model candidate answers one row, as upstream builds its messages (``user_messages`` is
also what an agent candidate's turn is given)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stack_core import BadRequestError, InferenceClient, ModelCandidate


def _given(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    given = row["chat_completion_input"]
    try:
        messages = json.loads(given) if isinstance(given, str) else given
    except ValueError:
        raise BadRequestError("chat_completion_input must be a JSON list of messages.") from None
    if not isinstance(messages, list):
        raise BadRequestError("chat_completion_input must be a JSON list of messages.")
    return [dict(m) for m in messages if isinstance(m, dict)]


def user_messages(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The row's user messages: its ``chat_completion_input``'s, or its ``completion_input``."""
    if "chat_completion_input" in row:
        return [m for m in _given(row) if m.get("role") == "user"]
    if "completion_input" in row:
        given = row["completion_input"]
        try:
            content = json.loads(given) if isinstance(given, str) else given
        except ValueError:
            content = given
        return [{"role": "user", "content": content}]
    raise BadRequestError(
        f"an eval row needs chat_completion_input or completion_input (row keys: {', '.join(row)})."
    )


def _messages(candidate: ModelCandidate, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "chat_completion_input" not in row:
        return user_messages(row)
    system = [candidate.system_message.model_dump()] if candidate.system_message else []
    return system + [m for m in _given(row) if m.get("role") == "system"] + user_messages(row)


async def generate(
    inference: InferenceClient, candidate: ModelCandidate, row: Mapping[str, Any]
) -> dict[str, Any]:
    """``{"generated_answer": ...}`` for one row."""
    reply = await inference.chat(
        candidate.model, _messages(candidate, row), **candidate.sampling_params.openai()
    )
    return {"generated_answer": reply.text}
