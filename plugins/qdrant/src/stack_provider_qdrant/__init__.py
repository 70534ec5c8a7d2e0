"""``inline::qdrant`` (qdrant-client local mode) and ``remote::qdrant`` (a Qdrant server)."""

from __future__ import annotations

from stack_core import ProviderContext, RegisterProvider, hookimpl

from .config import QdrantConfig

# Adapters (and their vector libraries) are imported only when a provider is configured.


def _create_inline(config: QdrantConfig, context: ProviderContext) -> object:
    from .adapter import create_inline

    return create_inline(config, context)


def _create_remote(config: QdrantConfig, context: ProviderContext) -> object:
    from .adapter import create_remote

    return create_remote(config, context)


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="vector_io",
        provider_type="inline::qdrant",
        config=QdrantConfig,
        factory=_create_inline,
        optional_deps=("inference",),
        enable_env="ENABLE_QDRANT",
        description="Qdrant local mode (in-process, exact search), persisted under the state directory.",
        single_process=True,
    )
    register(
        api="vector_io",
        provider_type="remote::qdrant",
        config=QdrantConfig,
        factory=_create_remote,
        optional_deps=("inference",),
        sample_config={"url": "${env.QDRANT_URL}", "api_key": "${env.QDRANT_API_KEY:=}"},
        enable_env="QDRANT_URL",
        description="A Qdrant server.",
    )
