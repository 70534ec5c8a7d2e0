"""Configuration of the Qdrant providers (one class for local mode and the server)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from stack_core import ConfigModel


class QdrantConfig(ConfigModel):
    url: str | None = Field(
        default=None, description="remote::qdrant: the server, e.g. http://localhost:6333."
    )
    api_key: SecretStr | None = Field(default=None, description="remote::qdrant: API key.")
    path: str | None = Field(
        default=None,
        description="inline::qdrant: directory of the local-mode storage (default: the provider's state "
        "directory under ~/.stack).",
    )
    timeout: float = Field(default=30.0, gt=0, description="Seconds per request to the server.")
    keyword_candidates: int = Field(
        default=1000, ge=10, description="Most chunks matching a query's words that keyword search ranks."
    )
