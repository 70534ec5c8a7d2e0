"""``inline::vector-stores``: OpenAI-compatible vector stores over the Files, VectorIO and
Inference APIs (text, Markdown and PDF files; chunks embedded and stored through vector_io)."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="vector_stores",
        provider_type="inline::vector-stores",
        config="stack_provider_vector_stores.config:VectorStoresConfig",
        factory="stack_provider_vector_stores.adapter:create_adapter",
        deps=("vector_io", "files", "inference"),
        sample_config={
            "vector_io_provider_id": "${env.VECTOR_STORES_VECTOR_IO_PROVIDER:=}",
            "embedding_model": "${env.VECTOR_STORES_EMBEDDING_MODEL:=}",
        },
        description="OpenAI vector stores: files extracted, chunked, embedded and searched via vector_io.",
    )
