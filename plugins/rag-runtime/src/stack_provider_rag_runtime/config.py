"""Configuration of the RAG tool runtime."""

from __future__ import annotations

from pydantic import Field

from stack_core import ConfigModel
from stack_core.kits.fetch import UrlFetchConfig


class RagRuntimeConfig(ConfigModel):
    chunk_overlap_ratio: float = Field(
        default=0.25,
        ge=0,
        le=0.5,
        description="Overlap of consecutive chunks, as a fraction of the request's chunk_size_in_tokens.",
    )
    insert_batch_size: int = Field(default=64, ge=1, description="Chunks per vector_io insert call.")
    url_fetch: UrlFetchConfig = Field(
        default_factory=UrlFetchConfig, description="Limits on documents given by http(s) URL."
    )
