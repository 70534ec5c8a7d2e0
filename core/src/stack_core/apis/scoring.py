"""The Scoring API: rows (``expected_answer``, ``generated_answer``, ``input_query`` for judges)
scored by registered scoring functions, each with per-row results and an aggregate.

Routes follow the 0.2 reference line (``llama-stack-client==0.2.12``): ``POST /v1/scoring/score``
(rows in the request) and ``POST /v1/scoring/score-batch`` (the rows of a registered dataset,
optionally saved with their scores as a new dataset); the functions are the ``scoring_function``
resource (``/v1/scoring-functions``). One request may name functions of several providers: the
kernel's router (``stack_core.scoring_router``) sends each provider a ``ScoringCall`` per function
and merges the results; functions nobody registered are a 404 naming them.

Parameters (``ScoringFnParams``) given in a request replace the function's registered ones for that
request only. Aggregations (``stack_core.kits.scoring``) keep the reference line's semantics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import ConfigDict, Field

from ..resources import ScoringFunction
from ..spec import ApiModel, ApiSpec, Route
from .resources import SCORING_FUNCTIONS

__all__ = [
    "SCORING_API",
    "AggregationFunction",
    "BasicScoringFnParams",
    "LlmAsJudgeScoringFnParams",
    "RegexParserScoringFnParams",
    "ScoreBatchRequest",
    "ScoreBatchResponse",
    "ScoreRequest",
    "ScoreResponse",
    "ScoringCall",
    "ScoringFnParams",
    "ScoringProvider",
    "ScoringResult",
]

AggregationFunction = Literal["average", "weighted_average", "median", "categorical_count", "accuracy"]


class _Params(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    aggregation_functions: list[AggregationFunction] = Field(
        default_factory=list, description="Aggregates computed over the score rows."
    )


class BasicScoringFnParams(_Params):
    type: Literal["basic"] = "basic"


class RegexParserScoringFnParams(_Params):
    type: Literal["regex_parser"] = "regex_parser"
    parsing_regexes: list[str] = Field(
        default_factory=list, description="Tried in order; group 1 is the answer."
    )


class LlmAsJudgeScoringFnParams(_Params):
    type: Literal["llm_as_judge"] = "llm_as_judge"
    judge_model: str = Field(description="The model that judges each row.")
    prompt_template: str | None = Field(
        default=None, description="Formatted with input_query, expected_answer and generated_answer."
    )
    judge_score_regexes: list[str] = Field(
        default_factory=list, description="Tried in order on the judge's reply; group 1 is the score."
    )


ScoringFnParams = Annotated[
    BasicScoringFnParams | RegexParserScoringFnParams | LlmAsJudgeScoringFnParams,
    Field(discriminator="type"),
]

Row = dict[str, Any]


class ScoringResult(ApiModel):
    score_rows: list[Row]
    aggregated_results: dict[str, Any]


class ScoreRequest(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    input_rows: list[Row]
    scoring_functions: dict[str, ScoringFnParams | None] = Field(
        min_length=1, description="Scoring function id → parameters (null: the registered ones)."
    )


class ScoreResponse(ApiModel):
    results: dict[str, ScoringResult]


class ScoreBatchRequest(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    dataset_id: str
    scoring_functions: dict[str, ScoringFnParams | None] = Field(min_length=1)
    save_results_dataset: bool = Field(
        default=False, description="Register the rows with their scores as a new dataset."
    )


class ScoreBatchResponse(ScoreResponse):
    dataset_id: str | None = None


@dataclass(frozen=True)
class ScoringCall:
    """One function over some rows, as its provider receives it: the function as registered,
    the parameters in force (the request's, else the registered ones, else None) and the rows."""

    function: ScoringFunction
    params: BasicScoringFnParams | RegexParserScoringFnParams | LlmAsJudgeScoringFnParams | None
    rows: Sequence[Mapping[str, Any]]


class ScoringProvider(Protocol):
    """What a scoring provider implements. Optional: ``list_scoring_functions()`` (its built-in
    functions), ``register_scoring_function(fn)`` (accept or refuse one), ``health()``."""

    async def score(self, call: ScoringCall) -> ScoringResult:
        """Score every row of ``call`` with its function: one score row per input row, in order,
        and the aggregates its parameters ask for."""
        ...


SCORING_API = ApiSpec(
    name="scoring",
    description="Score rows with registered scoring functions (equality, regex, LLM as judge, ...).",
    protocol=ScoringProvider,
    resource=SCORING_FUNCTIONS,
    router="stack_core.scoring_router:ScoringRouter",
    routes=(
        Route(
            "POST",
            "/v1/scoring/score",
            "score",
            ScoreRequest,
            ScoreResponse,
            summary="Score rows with one or more scoring functions.",
        ),
        Route(
            "POST",
            "/v1/scoring/score-batch",
            "score_batch",
            ScoreBatchRequest,
            ScoreBatchResponse,
            summary="Score a dataset's rows; optionally save them with their scores as a dataset.",
        ),
    ),
)
