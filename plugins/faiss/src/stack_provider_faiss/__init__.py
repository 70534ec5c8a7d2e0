"""``inline::faiss``: the embedded default. faiss HNSW in memory; chunks, metadata and full-text
search (FTS5) in SQLite, which is the source of truth the index is rebuilt from."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="vector_io",
        provider_type="inline::faiss",
        config="stack_provider_faiss.config:FaissConfig",
        factory="stack_provider_faiss.adapter:create_provider",
        optional_deps=("inference",),
        description="Embedded vectors: faiss HNSW + SQLite (FTS5), persisted under the state directory.",
        single_process=True,
    )
