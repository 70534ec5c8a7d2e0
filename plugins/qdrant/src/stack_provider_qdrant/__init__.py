"""``inline::qdrant`` (qdrant-client local mode) and ``remote::qdrant`` (a Qdrant server)."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="vector_io",
        provider_type="inline::qdrant",
        config="stack_provider_qdrant.config:QdrantConfig",
        factory="stack_provider_qdrant.adapter:create_inline",
        optional_deps=("inference",),
        enable_env="ENABLE_QDRANT",
        description="Qdrant local mode (in-process, exact search), persisted under the state directory.",
        single_process=True,
    )
    register(
        api="vector_io",
        provider_type="remote::qdrant",
        config="stack_provider_qdrant.config:QdrantConfig",
        factory="stack_provider_qdrant.adapter:create_remote",
        optional_deps=("inference",),
        sample_config={"url": "${env.QDRANT_URL}", "api_key": "${env.QDRANT_API_KEY:=}"},
        enable_env="QDRANT_URL",
        description="A Qdrant server.",
    )
