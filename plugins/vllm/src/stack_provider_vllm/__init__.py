"""``remote::vllm``: inference through a vLLM server's OpenAI-compatible API."""

from __future__ import annotations

from stack_core import hookimpl
from stack_core.hookspecs import RegisterProvider
from stack_core.openai_compat import openai_compat_factory

from .config import VLLMConfig


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="inference",
        provider_type="remote::vllm",
        config=VLLMConfig,
        factory=openai_compat_factory(),
        sample_config={"url": "${env.VLLM_URL}", "api_key": "${env.VLLM_API_TOKEN:=}"},
        enable_env="VLLM_URL",
        description="vLLM server (OpenAI-compatible API); models discovered from /v1/models.",
    )
