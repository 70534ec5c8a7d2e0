"""The Safety API: shields run over a conversation, and OpenAI-compatible moderations.

``POST /v1/safety/run-shield`` answers ``{"violation": null}`` or a violation with a level, a message
for the end user and metadata (the 0.2 reference shape, read by ``llama-stack-client==0.2.12``).
``POST /v1/moderations`` is OpenAI's moderation endpoint, ``model`` naming the shield. Both are
routed by shield (``GET /v1/shields``).

Like every routed API, the router rewrites the routing field (``shield_id`` / ``model``) to the
shield's ``provider_resource_id`` before calling the provider; ``request.shield_identifier`` is the
identifier the client named (from ``stack_core.context.routed_resource``), so a provider can read
the shield's ``params`` with ``context.resources.get("shield", request.shield_identifier)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal, Protocol

from pydantic import ConfigDict, Field, field_validator

from ..context import routed_resource
from ..fields import Identifier
from ..payloads import content_text
from ..spec import ApiModel, ApiSpec, Route
from .resources import SHIELDS

__all__ = [
    "OPENAI_MODERATION_CATEGORIES",
    "SAFETY_API",
    "ModerationRequest",
    "ModerationResponse",
    "ModerationResult",
    "RunShieldRequest",
    "RunShieldResponse",
    "SafetyProvider",
    "SafetyViolation",
    "ViolationLevel",
    "content_text",
    "moderation_id",
    "moderation_result",
]

ViolationLevel = Literal["info", "warn", "error"]

OPENAI_MODERATION_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


class _ShieldRequest(ApiModel):
    _routing_field: ClassVar[str]

    @property
    def shield_identifier(self) -> str:
        """The shield's identifier as the client named it (the routing field holds the
        provider-side name once routed)."""
        routed = routed_resource.get()
        return routed.identifier if routed is not None else str(getattr(self, self._routing_field))


class RunShieldRequest(_ShieldRequest):
    model_config = ConfigDict(extra="forbid")
    _routing_field = "shield_id"

    shield_id: Identifier = Field(description="The shield to run (GET /v1/shields).")
    messages: list[dict[str, Any]] = Field(
        min_length=1,
        description="The conversation: messages with a role and content (a string or content parts).",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Per-call shield parameters.")


class SafetyViolation(ApiModel):
    violation_level: ViolationLevel = Field(description="info, warn, or error (block).")
    user_message: str | None = Field(default=None, description="A message to show the end user.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="e.g. violation_type.")


class RunShieldResponse(ApiModel):
    violation: SafetyViolation | None = Field(default=None, description="None when the messages pass.")


class ModerationRequest(_ShieldRequest):
    model_config = ConfigDict(extra="allow")
    _routing_field = "model"

    input: str | list[str] | list[dict[str, Any]] = Field(
        description="Text to classify: a string, a list of strings (one result each), or one "
        "multi-modal input as a list of content parts."
    )
    model: str | None = Field(
        default=None, description="The shield to run (GET /v1/shields); optional when only one is registered."
    )

    @field_validator("input")
    @classmethod
    def _not_empty(cls, value: str | list[str] | list[dict[str, Any]]) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("input must not be empty")
        return value

    def texts(self) -> list[str]:
        """One text per result: each string, or a multi-modal input's text parts joined."""
        if isinstance(self.input, str):
            return [self.input]
        if all(isinstance(item, str) for item in self.input):
            return [str(item) for item in self.input]
        return [content_text(self.input)]


class ModerationResult(ApiModel):
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]]
    user_message: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ModerationResponse(ApiModel):
    id: str
    model: str
    results: list[ModerationResult]


class SafetyProvider(Protocol):
    """What a safety provider implements. Optional extras: ``register_shield(shield)`` (accept or
    refuse a registration; raise ``BadRequestError`` saying why), ``unregister_shield(shield)``,
    ``list_shields()`` (shields it serves out of the box, registered at start), ``health()``."""

    async def run_shield(self, request: RunShieldRequest) -> RunShieldResponse:
        """Check the messages; a violation, or ``violation=None`` when they pass."""
        ...

    async def run_moderation(self, request: ModerationRequest) -> ModerationResponse:
        """Classify each input (``request.texts()``): one result per text, in order."""
        ...


def moderation_result(
    flagged: Iterable[str] | Mapping[str, float],
    *,
    known: Iterable[str] = (),
    user_message: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ModerationResult:
    """A complete moderation result: every OpenAI category (and each of ``known``) reported, the
    ``flagged`` ones true, with their score (1.0 unless a mapping of scores is given)."""
    scores = dict(flagged) if isinstance(flagged, Mapping) else dict.fromkeys(flagged, 1.0)
    names = dict.fromkeys([*OPENAI_MODERATION_CATEGORIES, *known, *scores])
    return ModerationResult(
        flagged=bool(scores),
        categories={name: name in scores for name in names},
        category_scores={name: float(scores.get(name, 0.0)) for name in names},
        category_applied_input_types={name: ["text"] if name in scores else [] for name in names},
        user_message=user_message if scores else None,
        metadata=dict(metadata or {}),
    )


def moderation_id() -> str:
    return f"modr-{uuid.uuid4().hex}"


SAFETY_API = ApiSpec(
    name="safety",
    description="Shields (run-shield) and OpenAI-compatible moderations, routed by shield.",
    protocol=SafetyProvider,
    resource=SHIELDS,
    routes=(
        Route(
            "POST",
            "/v1/safety/run-shield",
            "run_shield",
            RunShieldRequest,
            RunShieldResponse,
            routing_key="shield_id",
            summary="Run a shield over a conversation.",
        ),
        Route(
            "POST",
            "/v1/moderations",
            "run_moderation",
            ModerationRequest,
            ModerationResponse,
            routing_key="model",
            aliases=("/v1/openai/v1/moderations",),
            summary="Classify text with a shield (OpenAI moderations; model names the shield).",
        ),
    ),
)
