"""``ScoringClient``: rows scored by registered scoring functions, in-process (eval)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..apis.scoring import ScoreRequest, ScoreResponse, ScoringFnParams
from ..calls import ApiHandle
from .decode import build_request, decode_model

__all__ = ["ScoringClient"]


class ScoringClient:
    """Scoring over ``api``, the object serving the Scoring API (``context.deps["scoring"]``)."""

    def __init__(self, api: ApiHandle) -> None:
        self._score = api.handler("score")

    async def score(
        self, rows: Sequence[Mapping[str, Any]], functions: Mapping[str, ScoringFnParams | None]
    ) -> ScoreResponse:
        """Each function's score rows (one per input row, in order) and aggregates."""
        fields = {"input_rows": [dict(r) for r in rows], "scoring_functions": dict(functions)}
        return decode_model(await self._score(build_request(ScoreRequest, fields)), ScoreResponse)
