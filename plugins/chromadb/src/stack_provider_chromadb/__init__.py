"""``inline::chromadb`` (embedded PersistentClient) and ``remote::chromadb`` (Chroma server)."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="vector_io",
        provider_type="inline::chromadb",
        config="stack_provider_chromadb.config:ChromaConfig",
        factory="stack_provider_chromadb.adapter:create_inline",
        optional_deps=("inference",),
        enable_env="ENABLE_CHROMADB",
        description="Embedded ChromaDB, persisted under the provider's state directory.",
        single_process=True,
    )
    register(
        api="vector_io",
        provider_type="remote::chromadb",
        config="stack_provider_chromadb.config:ChromaConfig",
        factory="stack_provider_chromadb.adapter:create_remote",
        optional_deps=("inference",),
        sample_config={"url": "${env.CHROMADB_URL}"},
        enable_env="CHROMADB_URL",
        description="A Chroma server over HTTP.",
    )
