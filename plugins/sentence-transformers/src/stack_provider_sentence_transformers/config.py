"""Configuration of the sentence-transformers provider."""

from __future__ import annotations

from pydantic import Field

from stack_core import ConfigModel


class SentenceTransformersConfig(ConfigModel):
    device: str = Field(default="cpu", description="torch device: cpu, cuda, mps.")
    batch_size: int = Field(default=64, ge=1, description="Most texts encoded in one forward pass.")
    max_batch_wait_ms: float = Field(
        default=0.0,
        ge=0,
        description="How long a request waits for others to share its batch. At 0 (the default) a "
        "request is encoded at once when the model is idle, and the requests that arrive while it "
        "encodes share the next batch: no added latency alone, full batches under load.",
    )
    threads: int | None = Field(default=None, description="torch intra-op threads (default: all cores).")
    preload: bool = Field(
        default=True,
        description="Start loading the default model when the provider starts, in the background: the "
        "server answers at once, embedding requests wait for the load, and /v1/health/ready reports "
        "the provider Loading until it is done (importing torch and sentence-transformers takes "
        "10 s or more on a cold machine). False loads it on first use.",
    )
