"""Configuration of the vector stores provider."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from stack_core import ConfigModel


class VectorStoresConfig(ConfigModel):
    vector_io_provider_id: str | None = Field(
        default=None,
        description="vector_io provider holding new stores' chunks when a request names none "
        "(default: the first one in the run config).",
    )
    embedding_model: str | None = Field(
        default=None,
        description="Embedding model of new stores when a request names none "
        "(default: the first registered embedding model).",
    )
    chunk_size_tokens: int = Field(
        default=256,
        ge=100,
        le=4096,
        description="Chunk size of the `auto` strategy, in approximate tokens (words and punctuation); "
        "256 fits all-MiniLM-L6-v2's window.",
    )
    chunk_overlap_tokens: int = Field(default=64, ge=0, description="Overlap of the `auto` strategy.")
    max_concurrent_files: int = Field(default=4, ge=1, description="Files processed at the same time.")
    insert_batch_size: int = Field(default=64, ge=1, description="Chunks per vector_io insert call.")
    processing_lease_seconds: float = Field(
        default=30.0,
        ge=0.5,
        description="Lease of the job processing a file: how long it stays held without news from the "
        "process running it; after a crash, any process sharing the database resumes the file once "
        "it lapses (a cleanly stopping process hands it over at once).",
    )

    @field_validator("vector_io_provider_id", "embedding_model", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _overlap_below_size(self) -> VectorStoresConfig:
        if self.chunk_overlap_tokens > self.chunk_size_tokens // 2:
            raise ValueError("chunk_overlap_tokens must not exceed half of chunk_size_tokens")
        return self
