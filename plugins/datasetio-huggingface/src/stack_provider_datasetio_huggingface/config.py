"""Configuration of the Hugging Face DatasetIO provider."""

from __future__ import annotations

from pydantic import Field

from stack_core import ConfigModel


class HuggingFaceDatasetIOConfig(ConfigModel):
    storage_dir: str | None = Field(
        default=None,
        description="Where appended versions of datasets are saved (default: the state dir).",
    )
    cached_datasets: int = Field(default=16, ge=1, description="Loaded datasets kept open (memory-mapped).")
