"""``inline::sentence-transformers``: local embeddings, all-MiniLM-L6-v2 bundled for offline use."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="inference",
        provider_type="inline::sentence-transformers",
        config="stack_provider_sentence_transformers.config:SentenceTransformersConfig",
        factory="stack_provider_sentence_transformers.adapter:create_provider",
        sample_config={"device": "${env.EMBEDDING_DEVICE:=cpu}"},
        description="Local sentence-transformers embeddings (all-MiniLM-L6-v2 bundled).",
    )
