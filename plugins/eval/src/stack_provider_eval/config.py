"""Configuration of the eval provider."""

from __future__ import annotations

from pydantic import Field

from stack_core import ConfigModel


class EvalConfig(ConfigModel):
    max_concurrency: int = Field(default=8, ge=1, le=512, description="Generations in flight per job.")
    batch_size: int = Field(
        default=32, ge=1, le=10_000, description="Generations saved (and progress reported) together."
    )
    max_concurrent_jobs: int = Field(default=2, ge=1, description="Eval jobs run at once per server process.")
