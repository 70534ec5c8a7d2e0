"""``inline::sentence-transformers``: local embeddings, all-MiniLM-L6-v2 bundled for offline use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stack_core import ProviderContext, RegisterProvider, hookimpl

from .config import SentenceTransformersConfig

if TYPE_CHECKING:
    from .adapter import SentenceTransformersProvider


async def create_provider(
    config: SentenceTransformersConfig, context: ProviderContext
) -> SentenceTransformersProvider:
    """Imports numpy and friends only when the provider is actually configured."""
    from .adapter import SentenceTransformersProvider

    provider = SentenceTransformersProvider(config, context)
    await provider.initialize()
    return provider


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
