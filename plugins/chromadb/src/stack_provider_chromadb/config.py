"""Configuration of the ChromaDB providers (one class for the embedded and the remote type)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from stack_core import ConfigModel


class ChromaConfig(ConfigModel):
    url: str | None = Field(
        default=None, description="remote::chromadb: the Chroma server, e.g. http://localhost:8000."
    )
    path: str | None = Field(
        default=None,
        description="inline::chromadb: directory of the embedded database (default: the provider's "
        "state directory under ~/.stack).",
    )
    api_key: SecretStr | None = Field(default=None, description="Sent as x-chroma-token (remote).")
    tenant: str = Field(default="default_tenant", description="Chroma tenant.")
    database: str = Field(default="default_database", description="Chroma database.")
    keyword_candidates: int = Field(
        default=1000, ge=10, description="Most chunks matching a query's words that keyword search ranks."
    )
