"""``inline::llama-guard``: Llama Guard shields, judged by a model any inference provider serves."""

from __future__ import annotations

from stack_core import ProviderContext, RegisterProvider, hookimpl

from .config import LlamaGuardConfig


def create(config: LlamaGuardConfig, context: ProviderContext) -> object:
    """Imports the adapter (and its dependencies) only when this provider is configured."""
    from .adapter import create_provider

    return create_provider(config, context)


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="safety",
        provider_type="inline::llama-guard",
        config=LlamaGuardConfig,
        factory=create,
        deps=("inference",),
        description="Llama Guard shields over a registered Llama Guard model (Inference API).",
    )
