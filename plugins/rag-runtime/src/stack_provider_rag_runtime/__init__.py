"""``inline::rag-runtime``: the RAG tool (``builtin::rag``) over the VectorIO API: documents
extracted, chunked and inserted; ``knowledge_search`` retrieving and framing chunks for a model."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="tool_runtime",
        provider_type="inline::rag-runtime",
        config="stack_provider_rag_runtime.config:RagRuntimeConfig",
        factory="stack_provider_rag_runtime.adapter:RagRuntime",
        deps=("vector_io",),
        optional_deps=("files", "inference"),
        description="RAG tool: documents (text, data URIs, files, URLs) into vector DBs; knowledge_search.",
    )
