"""``inline::llama-guard``: Llama Guard shields, judged by a model any inference provider serves."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="safety",
        provider_type="inline::llama-guard",
        config="stack_provider_llama_guard.config:LlamaGuardConfig",
        factory="stack_provider_llama_guard.adapter:create_provider",
        deps=("inference",),
        description="Llama Guard shields over a registered Llama Guard model (Inference API).",
    )
