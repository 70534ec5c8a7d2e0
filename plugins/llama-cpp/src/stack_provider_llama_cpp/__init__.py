"""``inline::llama-cpp``: a local GGUF chat model, SmolLM2-135M-Instruct bundled for offline use."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="inference",
        provider_type="inline::llama-cpp",
        config="stack_provider_llama_cpp.config:LlamaCppConfig",
        factory="stack_provider_llama_cpp.adapter:create_provider",
        sample_config={
            "model": "${env.LLAMA_CPP_MODEL:=}",
            "parallel": "${env.LLAMA_CPP_PARALLEL:=1}",
            "max_tokens": "${env.LLAMA_CPP_MAX_TOKENS:=}",
        },
        fallback=True,
        description="Local GGUF chat model with llama.cpp (SmolLM2-135M-Instruct bundled).",
    )
