"""What a conformance suite runs against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """A running Stack (``url`` without ``/v1``) and the resources a suite exercises."""

    url: str
    chat_model: str | None = None
    embedding_model: str | None = None
    embedding_dimension: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
