"""The Llama Guard prompt and the parsing of its ``safe`` / ``unsafe\\nS1,S3`` replies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stack_core import BadRequestError, content_text

TEMPLATE = """Task: Check if there is unsafe content in '{agent}' messages in conversations according \
our safety policy with the below categories.

<BEGIN UNSAFE CONTENT CATEGORIES>
{categories}
<END UNSAFE CONTENT CATEGORIES>

<BEGIN CONVERSATION>

{conversation}

<END CONVERSATION>

Provide your safety assessment for ONLY THE LAST {agent} message in the above conversation:
 - First line must read 'safe' or 'unsafe'.
 - If unsafe, a second line must include a comma-separated list of violated categories."""


@dataclass(frozen=True)
class Verdict:
    """What the guard model said: ``unsafe`` with the violated codes, or safe."""

    unsafe: bool
    codes: tuple[str, ...] = ()


def build_prompt(messages: Sequence[Mapping[str, Any]], categories: Mapping[str, str]) -> str:
    """The prompt judging the last message; system messages are left out, the rest are the
    ``User`` or the ``Agent`` (assistant and tool messages)."""
    turns = [
        ("User" if m.get("role") == "user" else "Agent", content_text(m.get("content")))
        for m in messages
        if m.get("role") != "system"
    ]
    if not turns:
        raise BadRequestError("messages must include a user or assistant message.", param="messages")
    return TEMPLATE.format(
        agent=turns[-1][0],
        categories="\n".join(f"{code}: {name.rstrip('.')}." for code, name in categories.items()),
        conversation="\n\n".join(f"{role}: {text}" for role, text in turns),
    )


def parse_verdict(reply: str) -> Verdict | None:
    """``safe`` -> safe; ``unsafe`` then a line of codes -> unsafe; anything else -> None."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    first = lines[0].lower() if lines else ""
    if first == "safe":
        return Verdict(unsafe=False)
    if first != "unsafe":
        return None
    codes = [c.strip().upper() for c in lines[1].split(",")] if len(lines) > 1 else []
    return Verdict(unsafe=True, codes=tuple(dict.fromkeys(c for c in codes if c)))
