"""Benchmarks run as durable jobs (kind ``eval.run``) on the stack's job service.

``run_eval`` records the benchmark, its dataset and scoring functions and the config in the job's
params and returns it ``scheduled``; whichever server process claims the job reads the dataset's
first ``num_examples`` rows, answers them with at most ``max_concurrency`` generations in flight
(in any order) and saves them ``batch_size`` at a time (``generations``), reporting rows done of
total after each save. Each batch is scored by the benchmark's first scoring function as it is
saved, so the job's status carries the running accuracy of the rows done (that function scores
every row twice: once with its batch, once in the final scoring). A job resumed after its process
died (even by ``kill -9``) skips the rows already saved, so no row is answered twice or left out.
When every row has an answer the rows, with their ``generated_answer``, are scored through the
Scoring API and the ``EvaluateResponse`` is the job's result. Cancelling stops the job at its next save.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from stack_core import (
    AgentCandidate,
    ApiHandle,
    Benchmark,
    BenchmarkConfig,
    ConflictError,
    DatasetIOClient,
    EvalJob,
    EvalJobRequest,
    EvaluateResponse,
    EvaluateRowsRequest,
    InferenceClient,
    Job,
    JobHandle,
    JobService,
    ModelCandidate,
    NotFoundError,
    ProviderContext,
    ProviderReplyError,
    RunEvalRequest,
    ScoringClient,
    StackError,
    UnsupportedError,
    routed_resource,
)
from stack_core.apis.eval import EvalJobStatus

from .agent import AgentRun, agent_config
from .candidate import generate
from .config import EvalConfig
from .generations import Generations

KIND = "eval.run"
_STATUS: dict[str, EvalJobStatus] = {
    "queued": "scheduled",
    "running": "in_progress",
    "succeeded": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}


Answer = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]


def _number(score: Any) -> float | None:
    """A score as a number; None when it is not one (a judge's label, say)."""
    return None if isinstance(score, bool) or not isinstance(score, int | float) else float(score)


class MetaReferenceEval:
    def __init__(self, config: EvalConfig, context: ProviderContext, jobs: JobService) -> None:
        self.config, self.jobs = config, jobs
        self.inference: InferenceClient = context.inference
        self.datasetio: DatasetIOClient = context.datasetio
        self.scoring: ScoringClient = context.scoring
        self.agents: ApiHandle | None = context.deps.get("agents")
        self.generations = Generations(context.database)

    @staticmethod
    def _benchmark() -> Benchmark:
        benchmark = routed_resource.get()
        if not isinstance(benchmark, Benchmark):
            raise ProviderReplyError("inline::meta-reference was called without a routed benchmark")
        return benchmark

    def _agents(self, candidate: AgentCandidate) -> ApiHandle:
        """The Agents API an agent candidate runs on (its config checked); none configured is a 400."""
        agent_config(candidate)
        if self.agents is None:
            raise UnsupportedError(
                "An agent candidate needs an agents provider in the stack.", param="eval_candidate"
            )
        return self.agents

    @contextlib.asynccontextmanager
    async def _answerer(self, config: BenchmarkConfig) -> AsyncIterator[Answer]:
        """How the candidate answers a row: a model's chat completion, or a turn of an agent made
        for the run and deleted after it."""
        candidate = config.eval_candidate
        if isinstance(candidate, ModelCandidate):
            yield functools.partial(generate, self.inference, candidate)
            return
        async with AgentRun(self._agents(candidate), candidate) as run:
            yield run.answer

    # -- routes -------------------------------------------------------------------------------

    async def run_eval(self, request: RunEvalRequest) -> EvalJob:
        benchmark = self._benchmark()
        if isinstance(candidate := request.benchmark_config.eval_candidate, AgentCandidate):
            self._agents(candidate)
        params = {
            "benchmark_id": benchmark.identifier,
            "dataset_id": benchmark.dataset_id,
            "scoring_functions": benchmark.scoring_functions,
            "config": request.benchmark_config.model_dump(mode="json", exclude_none=True),
        }
        job = await self.jobs.submit(KIND, params)
        return self._status(job)

    async def evaluate_rows(self, request: EvaluateRowsRequest) -> EvaluateResponse:
        bound = asyncio.Semaphore(self.config.max_concurrency)
        async with self._answerer(request.benchmark_config) as answer:

            async def one(row: Mapping[str, Any]) -> dict[str, Any]:
                async with bound:
                    return await answer(row)

            generations = list(await asyncio.gather(*(one(row) for row in request.input_rows)))
        return await self._score(
            request.input_rows, generations, request.scoring_functions, request.benchmark_config
        )

    async def _job(self, request: EvalJobRequest) -> Job:
        job = await self.jobs.get(request.job_id)
        if job.kind != KIND or job.params.get("benchmark_id") != self._benchmark().identifier:
            raise NotFoundError(
                f"No job '{request.job_id}' of benchmark '{request.benchmark_id}'.",
                param="job_id",
                code="job_not_found",
            )
        return job

    @staticmethod
    def _status(job: Job, running_accuracy: float | None = None) -> EvalJob:
        return EvalJob(
            job_id=job.id,
            status=_STATUS[job.status],
            rows_done=job.done,
            rows_total=job.total,
            running_accuracy=running_accuracy,
            error=job.error,
        )

    async def job_status(self, request: EvalJobRequest) -> EvalJob:
        job = await self._job(request)
        return self._status(job, await self.generations.accuracy(job.id))

    async def job_cancel(self, request: EvalJobRequest) -> None:
        await self._job(request)
        await self.jobs.cancel(request.job_id)

    async def job_result(self, request: EvalJobRequest) -> EvaluateResponse:
        job = await self._job(request)
        if job.status != "succeeded":
            raise ConflictError(
                f"Job '{job.id}' is {_STATUS[job.status]}; its result is there once it has completed.",
                param="job_id",
                code="job_not_completed",
            )
        return EvaluateResponse.model_validate(job.result)

    # -- the job ------------------------------------------------------------------------------

    async def _score(
        self,
        rows: Sequence[Mapping[str, Any]],
        generations: Sequence[Mapping[str, Any]],
        functions: Sequence[str],
        config: BenchmarkConfig,
    ) -> EvaluateResponse:
        merged = [{**row, **generation} for row, generation in zip(rows, generations, strict=True)]
        scored = await self.scoring.score(merged, {f: config.scoring_params.get(f) for f in functions})
        return EvaluateResponse(generations=[dict(g) for g in generations], scores=scored.results)

    async def run(self, job: JobHandle) -> dict[str, Any]:
        """The job runner (idempotent: a resumed run skips the rows already answered)."""
        config = BenchmarkConfig.model_validate(job.params["config"])
        rows = [row async for row in self.datasetio.rows(job.params["dataset_id"], stop=config.num_examples)]
        done = await self.generations.done(job.id)
        await job.progress(len(done), len(rows))
        if pending := [i for i in range(len(rows)) if i not in done]:
            async with self._answerer(config) as answer:
                await self._generate(job, answer, config, rows, pending, len(done))
        generations = await self.generations.all(job.id)
        if len(generations) != len(rows):
            raise StackError(f"job {job.id}: {len(generations)} generations saved for {len(rows)} rows")
        result = await self._score(rows, generations, job.params["scoring_functions"], config)
        return result.model_dump(mode="json")

    async def _running_scores(
        self,
        job: JobHandle,
        config: BenchmarkConfig,
        rows: Sequence[Mapping[str, Any]],
        batch: Mapping[int, Mapping[str, Any]],
    ) -> dict[int, float | None]:
        """Each batch row's score by the first scoring function (None when not a number)."""
        functions = job.params["scoring_functions"]
        if not batch or not functions:
            return {}
        first = functions[0]
        merged = [{**rows[i], **g} for i, g in batch.items()]
        scored = await self.scoring.score(merged, {first: config.scoring_params.get(first)})
        rows_scored = zip(batch, scored.results[first].score_rows, strict=True)
        return {i: _number(row.get("score")) for i, row in rows_scored}

    async def _generate(
        self,
        job: JobHandle,
        answer: Answer,
        config: BenchmarkConfig,
        rows: Sequence[Mapping[str, Any]],
        pending: list[int],
        done: int,
    ) -> None:
        """Answer the ``pending`` rows, ``max_concurrency`` at a time, saving batches as they fill."""

        async def one(index: int) -> tuple[int, dict[str, Any]]:
            return index, await answer(rows[index])

        queue = iter(pending)
        running: set[asyncio.Task[tuple[int, dict[str, Any]]]] = set()
        batch: dict[int, dict[str, Any]] = {}
        try:
            while True:
                while len(running) < self.config.max_concurrency and (index := next(queue, None)) is not None:
                    running.add(asyncio.create_task(one(index)))
                if not running:
                    break
                finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                batch.update(task.result() for task in finished)
                if len(batch) >= self.config.batch_size or not running:
                    scores = await self._running_scores(job, config, rows, batch)
                    await self.generations.save(job.id, batch, scores)
                    done += len(batch)
                    batch = {}
                    await job.progress(done, len(rows))
        finally:
            for task in running:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*running, return_exceptions=True)


async def create_provider(config: EvalConfig, context: ProviderContext) -> MetaReferenceEval:
    if context.jobs is None:
        raise StackError("inline::meta-reference runs evaluations as jobs: it needs the stack's job service")
    provider = MetaReferenceEval(config, context, context.jobs)
    await provider.generations.open()
    context.jobs.register(KIND, provider.run, concurrency=config.max_concurrent_jobs)
    return provider
