"""Rows graded by a judge model, concurrently with a bound, with the 0.2 line's semantics.

``prompt_template.format(input_query=, expected_answer=, generated_answer=)`` is sent to
``judge_model`` as one user message; the first ``judge_score_regexes`` match's group 1 is the score
(a string, as upstream) and the reply is the ``judge_feedback``; no match scores None.
``llm-as-judge::base`` has no defaults: its parameters come from the registration or the request
(a request's parameters apply to that request only, unlike upstream, which kept them).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from stack_core import (
    BadRequestError,
    InferenceClient,
    LlmAsJudgeScoringFnParams,
    ProviderContext,
    ScoringCall,
    ScoringFunction,
    ScoringResult,
)
from stack_core.kits.scoring import aggregate

from .config import LlmAsJudgeConfig
from .templates import SIMPLEQA_GRADER

BASE, SIMPLEQA = "llm-as-judge::base", "llm-as-judge::405b-simpleqa"


class LlmAsJudgeScoring:
    def __init__(self, config: LlmAsJudgeConfig, context: ProviderContext) -> None:
        self.config, self.provider_id = config, context.provider_id
        self._context = context
        self.defaults: dict[str, LlmAsJudgeScoringFnParams | None] = {
            BASE: None,
            SIMPLEQA: LlmAsJudgeScoringFnParams(
                judge_model=config.simpleqa_judge_model,
                prompt_template=SIMPLEQA_GRADER,
                judge_score_regexes=[r"(A|B|C)"],
                aggregation_functions=["categorical_count"],
            ),
        }

    @property
    def inference(self) -> InferenceClient:
        return self._context.inference

    async def list_scoring_functions(self) -> list[ScoringFunction]:
        descriptions = {BASE: "A judge model grades each row.", SIMPLEQA: "SimpleQA's grader: A/B/C counted."}
        return [
            ScoringFunction(
                identifier=name,
                provider_id=self.provider_id,
                description=descriptions[name],
                return_type={"type": "string"},
                params=params.model_dump() if params is not None else None,
            )
            for name, params in self.defaults.items()
        ]

    async def register_scoring_function(self, function: ScoringFunction) -> ScoringFunction | None:
        judged = isinstance(function.params, Mapping) and function.params.get("type") == "llm_as_judge"
        if function.provider_key not in self.defaults and not judged:
            raise BadRequestError(
                "inline::llm-as-judge scores with params of type llm_as_judge (judge_model, "
                f"prompt_template, judge_score_regexes), or as one of {', '.join(self.defaults)}.",
                param="params",
            )
        return None

    def _params(self, call: ScoringCall) -> LlmAsJudgeScoringFnParams:
        params = call.params if call.params is not None else self.defaults.get(call.function.provider_key)
        if not isinstance(params, LlmAsJudgeScoringFnParams):
            raise BadRequestError(
                f"'{call.function.identifier}' needs llm_as_judge params (judge_model, prompt_template, "
                "judge_score_regexes), at registration or in the request.",
                param="scoring_functions",
            )
        if not params.prompt_template or not params.judge_score_regexes:
            raise BadRequestError(
                f"'{call.function.identifier}': prompt_template and judge_score_regexes are required.",
                param="scoring_functions",
            )
        return params

    async def _judge(
        self, params: LlmAsJudgeScoringFnParams, row: Mapping[str, Any], bound: asyncio.Semaphore
    ) -> dict[str, Any]:
        assert params.prompt_template is not None
        try:
            prompt = params.prompt_template.format(
                input_query=row["input_query"],
                expected_answer=row["expected_answer"],
                generated_answer=row["generated_answer"],
            )
        except KeyError as exc:
            raise BadRequestError(
                f"every row needs {exc} to be judged (row keys: {', '.join(row)})."
            ) from None
        async with bound:
            reply = await self.inference.chat(params.judge_model, [{"role": "user", "content": prompt}])
        rating = next(
            (m.group(1) for r in params.judge_score_regexes if (m := re.search(r, reply.text))), None
        )
        return {"score": rating, "judge_feedback": reply.text}

    async def score(self, call: ScoringCall) -> ScoringResult:
        params = self._params(call)
        bound = asyncio.Semaphore(self.config.max_concurrency)
        rows = list(await asyncio.gather(*(self._judge(params, row, bound) for row in call.rows)))
        return ScoringResult(
            score_rows=rows, aggregated_results=aggregate(rows, params.aggregation_functions)
        )
