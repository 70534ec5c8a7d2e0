"""``remote::tgi``: inference through Hugging Face Text Generation Inference."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="inference",
        provider_type="remote::tgi",
        config="stack_provider_tgi.config:TGIConfig",
        factory="stack_provider_tgi.adapter:create_adapter",
        sample_config={"url": "${env.TGI_URL}"},
        enable_env="TGI_URL",
        description="Hugging Face TGI; its model is read from /info.",
    )
