"""Configuration of the local-filesystem DatasetIO provider."""

from __future__ import annotations

from pydantic import Field

from stack_core import ConfigModel


class LocalFSDatasetIOConfig(ConfigModel):
    storage_dir: str | None = Field(
        default=None,
        description="Where appended versions of file datasets are written (default: the state dir).",
    )
