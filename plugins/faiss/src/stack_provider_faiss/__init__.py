"""``inline::faiss``: the embedded default. faiss HNSW in memory; chunks, metadata and full-text
search (FTS5) in SQLite, which is the source of truth the index is rebuilt from."""

from __future__ import annotations

from stack_core import ProviderContext, RegisterProvider, hookimpl

from .config import FaissConfig

# Adapters (and their vector libraries) are imported only when a provider is configured.


def _create_provider(config: FaissConfig, context: ProviderContext) -> object:
    from .adapter import create_provider

    return create_provider(config, context)


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="vector_io",
        provider_type="inline::faiss",
        config=FaissConfig,
        factory=_create_provider,
        optional_deps=("inference",),
        description="Embedded vectors: faiss HNSW + SQLite (FTS5), persisted under the state directory.",
        single_process=True,
    )
