"""Configuration of the LLM-as-judge scoring provider."""

from __future__ import annotations

from pydantic import Field

from stack_core import ConfigModel


class LlmAsJudgeConfig(ConfigModel):
    max_concurrency: int = Field(default=8, ge=1, le=256, description="Judge calls in flight per request.")
    simpleqa_judge_model: str = Field(
        default="meta-llama/Llama-3.1-405B-Instruct",
        description="The judge of llm-as-judge::405b-simpleqa (a registered model).",
    )
