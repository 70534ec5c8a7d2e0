"""Configuration of the faiss provider."""

from __future__ import annotations

from pydantic import Field

from stack_core import ConfigModel


class FaissConfig(ConfigModel):
    path: str | None = Field(
        default=None, description="Directory of the collections (default: the provider's state directory)."
    )
    hnsw_m: int = Field(default=32, ge=4, description="HNSW graph degree.")
    ef_construction: int = Field(default=64, ge=8, description="HNSW build candidate list size.")
    ef_search: int = Field(default=64, ge=8, description="HNSW search candidate list size (recall vs speed).")
    exact_below: int = Field(
        default=4096, ge=0, description="Filtered queries matching at most this many chunks search exactly."
    )
