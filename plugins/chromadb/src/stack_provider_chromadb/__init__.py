"""``inline::chromadb`` (embedded PersistentClient) and ``remote::chromadb`` (Chroma server)."""

from __future__ import annotations

from stack_core import ProviderContext, RegisterProvider, hookimpl

from .config import ChromaConfig

# Adapters (and their vector libraries) are imported only when a provider is configured.


def _create_inline(config: ChromaConfig, context: ProviderContext) -> object:
    from .adapter import create_inline

    return create_inline(config, context)


def _create_remote(config: ChromaConfig, context: ProviderContext) -> object:
    from .adapter import create_remote

    return create_remote(config, context)


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="vector_io",
        provider_type="inline::chromadb",
        config=ChromaConfig,
        factory=_create_inline,
        optional_deps=("inference",),
        enable_env="ENABLE_CHROMADB",
        description="Embedded ChromaDB, persisted under the provider's state directory.",
        single_process=True,
    )
    register(
        api="vector_io",
        provider_type="remote::chromadb",
        config=ChromaConfig,
        factory=_create_remote,
        optional_deps=("inference",),
        sample_config={"url": "${env.CHROMADB_URL}"},
        enable_env="CHROMADB_URL",
        description="A Chroma server over HTTP.",
    )
