"""The basic scoring provider: its functions listed as built in, scored row by row."""

from __future__ import annotations

from typing import Any

from stack_core import (
    BadRequestError,
    ProviderContext,
    RegexParserScoringFnParams,
    ScoringCall,
    ScoringFunction,
    ScoringResult,
)
from stack_core.kits.scoring import aggregate

from .config import BasicScoringConfig
from .functions import FUNCTIONS

RETURN_TYPE = {"type": "number"}


class BasicScoring:
    def __init__(self, config: BasicScoringConfig, context: ProviderContext) -> None:
        self.provider_id = context.provider_id

    async def list_scoring_functions(self) -> list[ScoringFunction]:
        return [
            ScoringFunction(
                identifier=name,
                provider_id=self.provider_id,
                description=description,
                return_type=RETURN_TYPE,
                params=params,
            )
            for name, (_, description, params) in FUNCTIONS.items()
        ]

    async def register_scoring_function(self, function: ScoringFunction) -> ScoringFunction | None:
        if function.provider_key not in FUNCTIONS:
            raise BadRequestError(
                f"inline::basic has no scoring function '{function.provider_key}'; its functions: "
                f"{', '.join(FUNCTIONS)}. Set provider_scoring_fn_id to one of them.",
                param="provider_scoring_fn_id",
            )
        return None

    async def score(self, call: ScoringCall) -> ScoringResult:
        function, _, defaults = FUNCTIONS[call.function.provider_key]
        params = call.params
        regexes: list[str] = list(defaults.get("parsing_regexes", []))
        if isinstance(params, RegexParserScoringFnParams) and params.parsing_regexes:
            regexes = params.parsing_regexes
        rows: list[dict[str, Any]] = [function(row, regexes) for row in call.rows]
        aggregations = (
            params.aggregation_functions if params is not None else defaults["aggregation_functions"]
        )
        return ScoringResult(score_rows=rows, aggregated_results=aggregate(rows, aggregations))
