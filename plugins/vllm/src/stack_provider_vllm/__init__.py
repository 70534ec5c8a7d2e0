"""``remote::vllm``: inference through a vLLM server's OpenAI-compatible API."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="inference",
        provider_type="remote::vllm",
        config="stack_provider_vllm.config:VLLMConfig",
        factory="stack_core.kits.openai_compat:create_adapter",
        sample_config={"url": "${env.VLLM_URL}", "api_key": "${env.VLLM_API_TOKEN:=}"},
        enable_env="VLLM_URL",
        description="vLLM server (OpenAI-compatible API); models discovered from /v1/models.",
    )
