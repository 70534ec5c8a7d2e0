"""The Eval API: a candidate (a model with sampling parameters and a system message) answers a
benchmark's rows, and the benchmark's scoring functions score the answers.

Routes follow the 0.2 reference line (``llama-stack-client==0.2.12``), all routed by the
``benchmark`` resource (``/v1/eval/benchmarks``): ``POST .../{benchmark_id}/jobs`` (``run_eval``:
a durable job over the benchmark's dataset), ``POST .../{benchmark_id}/evaluations``
(``evaluate_rows``: rows given in the request, answered at once), ``GET|DELETE
.../{benchmark_id}/jobs/{job_id}`` (status, cancel) and ``GET .../jobs/{job_id}/result``.

Rows carry ``chat_completion_input`` (a JSON string of messages: the candidate's system message
first, then the row's ``system`` messages, then its ``user`` messages; other roles are dropped, as
upstream does) or ``completion_input``; each generation is ``{"generated_answer": ...}``, merged into
its row for scoring. A job's status uses the 0.2 names (``scheduled``, ``in_progress``,
``completed``, ``failed``, ``cancelled``) and adds how many rows are done of how many.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol

from pydantic import ConfigDict, Field

from ..spec import ApiModel, ApiSpec, Route
from .resources import BENCHMARKS
from .scoring import ScoringFnParams, ScoringResult

__all__ = [
    "EVAL_API",
    "AgentCandidate",
    "BenchmarkConfig",
    "EvalJob",
    "EvalJobRequest",
    "EvalJobStatus",
    "EvalProvider",
    "EvaluateResponse",
    "EvaluateRowsRequest",
    "ModelCandidate",
    "RunEvalRequest",
    "SamplingParams",
]


class _Open(ApiModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)


class GreedyStrategy(_Open):
    type: Literal["greedy"] = "greedy"


class TopPStrategy(_Open):
    type: Literal["top_p"] = "top_p"
    temperature: float | None = None
    top_p: float | None = 0.95


class TopKStrategy(_Open):
    type: Literal["top_k"] = "top_k"
    top_k: int = Field(ge=1)


class SamplingParams(_Open):
    strategy: Annotated[GreedyStrategy | TopPStrategy | TopKStrategy, Field(discriminator="type")] = Field(
        default_factory=GreedyStrategy
    )
    max_tokens: int | None = Field(default=None, ge=1)
    repetition_penalty: float | None = None
    stop: list[str] | None = None

    def openai(self) -> dict[str, Any]:
        """The OpenAI chat parameters these sampling parameters mean."""
        params: dict[str, Any] = {"max_tokens": self.max_tokens, "stop": self.stop}
        strategy = self.strategy
        if isinstance(strategy, GreedyStrategy):
            params["temperature"] = 0.0
        elif isinstance(strategy, TopPStrategy):
            params |= {"temperature": strategy.temperature, "top_p": strategy.top_p}
        else:
            params["top_k"] = strategy.top_k
        if self.repetition_penalty is not None:
            params["frequency_penalty"] = self.repetition_penalty
        return {k: v for k, v in params.items() if v is not None}


class SystemMessage(_Open):
    role: Literal["system"] = "system"
    content: str | list[Any]


class ModelCandidate(_Open):
    type: Literal["model"] = "model"
    model: str = Field(description="A registered model.")
    sampling_params: SamplingParams = Field(default_factory=SamplingParams)
    system_message: SystemMessage | None = None


class AgentCandidate(_Open):
    type: Literal["agent"] = "agent"
    config: dict[str, Any]


class BenchmarkConfig(_Open):
    eval_candidate: Annotated[ModelCandidate | AgentCandidate, Field(discriminator="type")]
    scoring_params: dict[str, ScoringFnParams] = Field(
        default_factory=dict, description="Scoring function id → parameters replacing its registered ones."
    )
    num_examples: int | None = Field(default=None, ge=1, description="The first N rows; default all.")


class RunEvalRequest(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    benchmark_id: str
    benchmark_config: BenchmarkConfig


class EvaluateRowsRequest(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    benchmark_id: str
    input_rows: list[dict[str, Any]]
    scoring_functions: list[str] = Field(min_length=1)
    benchmark_config: BenchmarkConfig


class EvalJobRequest(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    benchmark_id: str
    job_id: str


EvalJobStatus = Literal["scheduled", "in_progress", "completed", "failed", "cancelled"]


class EvalJob(ApiModel):
    job_id: str
    status: EvalJobStatus
    rows_done: int = 0
    rows_total: int | None = None
    running_accuracy: float | None = Field(
        default=None,
        description="The mean score of the rows done by the benchmark's first scoring function "
        "(None before a row has a numeric score).",
    )
    error: dict[str, str] | None = None


class EvaluateResponse(ApiModel):
    generations: list[dict[str, Any]]
    scores: dict[str, ScoringResult]


class EvalProvider(Protocol):
    """What an eval provider implements (optional: ``register_benchmark``, ``health()``). The
    routed benchmark is ``stack_core.routed_resource``."""

    async def run_eval(self, request: RunEvalRequest) -> EvalJob:
        """Start a job answering and scoring the benchmark's dataset; returns it scheduled."""
        ...

    async def evaluate_rows(self, request: EvaluateRowsRequest) -> EvaluateResponse:
        """Answer and score the given rows now."""
        ...

    async def job_status(self, request: EvalJobRequest) -> EvalJob: ...

    async def job_cancel(self, request: EvalJobRequest) -> None: ...

    async def job_result(self, request: EvalJobRequest) -> EvaluateResponse:
        """A completed job's generations and scores."""
        ...


_JOB = "/v1/eval/benchmarks/{benchmark_id}/jobs/{job_id}"

EVAL_API = ApiSpec(
    name="eval",
    description="Run benchmarks: a candidate model answers a dataset's rows, scoring functions score them.",
    protocol=EvalProvider,
    resource=BENCHMARKS,
    routes=(
        Route(
            "POST",
            "/v1/eval/benchmarks/{benchmark_id}/jobs",
            "run_eval",
            RunEvalRequest,
            EvalJob,
            routing_key="benchmark_id",
            summary="Start an evaluation job over the benchmark's dataset.",
        ),
        Route(
            "POST",
            "/v1/eval/benchmarks/{benchmark_id}/evaluations",
            "evaluate_rows",
            EvaluateRowsRequest,
            EvaluateResponse,
            routing_key="benchmark_id",
            summary="Answer and score the given rows.",
        ),
        Route(
            "GET", _JOB, "job_status", EvalJobRequest, EvalJob, routing_key="benchmark_id", summary="A job."
        ),
        Route(
            "DELETE",
            _JOB,
            "job_cancel",
            EvalJobRequest,
            None,
            routing_key="benchmark_id",
            summary="Cancel a job.",
        ),
        Route(
            "GET",
            f"{_JOB}/result",
            "job_result",
            EvalJobRequest,
            EvaluateResponse,
            routing_key="benchmark_id",
            summary="A completed job's generations and scores.",
        ),
    ),
)
