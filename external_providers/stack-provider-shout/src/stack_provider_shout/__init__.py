"""stack-provider-shout: a toy inference provider for Stack that shouts the last user message back.

Found through the ``stack`` entry-point group; it uses only the public ``stack_core`` API.
"""

from __future__ import annotations

from collections.abc import Callable

from stack_core import hookimpl

from .adapter import EMBEDDING_DIMENSION, MODELS, ShoutAdapter, create_adapter
from .config import ShoutConfig

__all__ = ["EMBEDDING_DIMENSION", "MODELS", "ShoutAdapter", "ShoutConfig", "create_adapter"]


@hookimpl
def stack_register_providers(register: Callable[..., None]) -> None:
    register(
        api="inference",
        provider_type="inline::shout",
        config=ShoutConfig,
        factory=create_adapter,
        sample_config={"suffix": "${env.SHOUT_SUFFIX:=!}"},
        description="Shouts the last user message back (no backend needed).",
    )
