"""``SafetyClient``: shields and moderations through the Safety API, in-process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..apis.safety import (
    ModerationRequest,
    ModerationResponse,
    RunShieldRequest,
    RunShieldResponse,
)
from ..calls import ApiHandle
from .decode import build_request, decode_model

__all__ = ["SafetyClient"]


class SafetyClient:
    """Shields over ``api``, the object serving the Safety API (usually the router,
    ``context.deps["safety"]``), with the current user's access rules."""

    def __init__(self, api: ApiHandle) -> None:
        self._run_shield = api.handler("run_shield")
        self._moderate = api.handler("run_moderation")

    async def run_shield(
        self, shield_id: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any] | None = None
    ) -> RunShieldResponse:
        """Run a shield over a conversation: ``violation`` is None when the messages pass."""
        fields = {
            "shield_id": shield_id,
            "messages": [dict(m) for m in messages],
            "params": dict(params or {}),
        }
        reply = await self._run_shield(build_request(RunShieldRequest, fields))
        return decode_model(reply, RunShieldResponse)

    async def moderate(self, input: str | Sequence[str], *, model: str | None = None) -> ModerationResponse:
        """OpenAI moderation of each text with shield ``model`` (optional when only one is registered)."""
        fields = {"input": input if isinstance(input, str) else list(input), "model": model}
        return decode_model(
            await self._moderate(build_request(ModerationRequest, fields)), ModerationResponse
        )
