"""``remote::openai`` and the OpenAI-compatible hosted family (together, fireworks, groq, ...)."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl

from .config import HOSTED, config_for


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    for service in HOSTED:
        register(
            api="inference",
            provider_type=f"remote::{service.name}",
            config=config_for(service),
            factory="stack_core.kits.openai_compat:create_adapter",
            sample_config={"api_key": f"${{env.{service.key_env}}}"},
            enable_env=service.key_env,
            description=f"{service.title} (OpenAI-compatible API).",
        )
