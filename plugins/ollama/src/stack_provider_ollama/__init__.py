"""``remote::ollama``: inference through an Ollama server."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="inference",
        provider_type="remote::ollama",
        config="stack_provider_ollama.config:OllamaConfig",
        factory="stack_provider_ollama.adapter:create_adapter",
        sample_config={"url": "${env.OLLAMA_URL:=http://localhost:11434}"},
        enable_env="OLLAMA_URL",
        description="Ollama server; models discovered from /api/tags.",
    )
