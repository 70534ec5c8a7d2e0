"""Bounded request fields, checked when a request is parsed — before any backend is called.

``Identifier`` is any name a user gives or addresses (model, shield, vector store, file name):
1 to 256 characters, none of them a control character. The OpenAI sampling parameters carry the
ranges OpenAI documents; counts a backend would allocate for (``n``, ``max_tokens``) are capped so
that no single request can ask for unbounded work.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

__all__ = [
    "MAX_DIMENSION",
    "MAX_IDENTIFIER",
    "Choices",
    "Identifier",
    "JsonObject",
    "LogitBias",
    "Penalty",
    "Seed",
    "Temperature",
    "TokenCount",
    "TopLogprobs",
    "TopP",
    "brief",
    "check_identifier",
]

MAX_IDENTIFIER = 256
MAX_DIMENSION = 65536
"""The largest embedding dimension a vector store accepts."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_identifier(value: str) -> str:
    """``value`` if it has no control character (NUL, newline, ...); else ValueError."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _json_safe(value: Any) -> Any:
    """``value`` if every integer in it fits the 64 bits JSON storage keeps; else ValueError."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        raise ValueError("integers must fit in 64 bits")
    if isinstance(value, dict):
        for item in value.values():
            _json_safe(item)
    elif isinstance(value, list):
        for item in value:
            _json_safe(item)
    return value


def brief(text: str, limit: int = 64) -> str:
    """At most ``limit`` characters of user input, for quoting it in an error message."""
    return text if len(text) <= limit else text[:limit] + "…"


Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_IDENTIFIER), AfterValidator(check_identifier)
]
Choices = Annotated[int, Field(ge=1, le=128, description="How many choices to generate (1-128).")]
TokenCount = Annotated[int, Field(ge=1, le=2**31 - 1, description="A token count (1 to 2^31-1).")]
Temperature = Annotated[float, Field(ge=0, le=2, description="Sampling temperature (0-2).")]
TopP = Annotated[float, Field(ge=0, le=1, description="Nucleus sampling mass (0-1).")]
Penalty = Annotated[float, Field(ge=-2, le=2, description="Frequency or presence penalty (-2 to 2).")]
TopLogprobs = Annotated[
    int, Field(ge=0, le=20, description="Most likely tokens to return per position (0-20).")
]
Seed = Annotated[int, Field(ge=-(2**63), le=2**63 - 1, description="Sampling seed (64-bit).")]
JsonObject = Annotated[dict[str, Any], AfterValidator(_json_safe)]
"""A JSON object (metadata) that storage can keep: its integers fit in 64 bits."""
LogitBias = dict[str, Annotated[float, Field(ge=-100, le=100)]]
