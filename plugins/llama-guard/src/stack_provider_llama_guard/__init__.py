"""``inline::llama-guard``: Llama Guard shields, judged by a model any inference provider serves."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl

from .adapter import create_provider
from .config import LlamaGuardConfig


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="safety",
        provider_type="inline::llama-guard",
        config=LlamaGuardConfig,
        factory=create_provider,
        deps=("inference",),
        description="Llama Guard shields over a registered Llama Guard model (Inference API).",
    )
