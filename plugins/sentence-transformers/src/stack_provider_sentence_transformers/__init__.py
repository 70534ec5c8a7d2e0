"""``inline::sentence-transformers``: local embeddings, all-MiniLM-L6-v2 bundled for offline use."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl

from .adapter import create_provider
from .config import SentenceTransformersConfig


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="inference",
        provider_type="inline::sentence-transformers",
        config=SentenceTransformersConfig,
        factory=create_provider,
        sample_config={"device": "${env.EMBEDDING_DEVICE:=cpu}"},
        description="Local sentence-transformers embeddings (all-MiniLM-L6-v2 bundled).",
    )
