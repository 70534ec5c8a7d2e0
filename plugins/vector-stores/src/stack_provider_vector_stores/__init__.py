"""``inline::vector-stores``: OpenAI-compatible vector stores over the Files, VectorIO and
Inference APIs (text, Markdown and PDF files; chunks embedded and stored through vector_io)."""

from __future__ import annotations

from stack_core import ProviderContext, RegisterProvider, hookimpl

from .config import VectorStoresConfig


async def create(config: VectorStoresConfig, context: ProviderContext) -> object:
    """Imports the adapter (and its dependencies) only when this provider is configured."""
    from .adapter import VectorStoresAdapter

    adapter = VectorStoresAdapter(config, context)
    adapter.start()
    return adapter


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="vector_stores",
        provider_type="inline::vector-stores",
        config=VectorStoresConfig,
        factory=create,
        deps=("vector_io", "files", "inference"),
        sample_config={
            "vector_io_provider_id": "${env.VECTOR_STORES_VECTOR_IO_PROVIDER:=}",
            "embedding_model": "${env.VECTOR_STORES_EMBEDDING_MODEL:=}",
        },
        description="OpenAI vector stores: files extracted, chunked, embedded and searched via vector_io.",
    )
