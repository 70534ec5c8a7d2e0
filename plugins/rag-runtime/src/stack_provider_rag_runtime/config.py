"""Configuration of the RAG tool runtime."""

from __future__ import annotations

from pydantic import Field

from stack_core import ConfigModel


class UrlFetchConfig(ConfigModel):
    """How documents given by URL are fetched: http(s) only, bounded, public addresses by default."""

    max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1, description="Largest document fetched (after decompression)."
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="Time allowed for a whole fetch, redirects included."
    )
    max_redirects: int = Field(default=5, ge=0, description="Redirects followed (each one checked anew).")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names documents may be fetched from ('docs.example.com', or '*.example.com' "
        "for its subdomains); empty: any host.",
    )
    allow_private_addresses: bool = Field(
        default=False,
        description="Fetch from hosts resolving to loopback, private, link-local or other non-public "
        "addresses. Off by default, so a server's users cannot reach its internal network.",
    )


class RagRuntimeConfig(ConfigModel):
    chunk_overlap_ratio: float = Field(
        default=0.25,
        ge=0,
        le=0.5,
        description="Overlap of consecutive chunks, as a fraction of the request's chunk_size_in_tokens.",
    )
    insert_batch_size: int = Field(default=64, ge=1, description="Chunks per vector_io insert call.")
    url_fetch: UrlFetchConfig = Field(
        default_factory=UrlFetchConfig, description="Limits on documents given by http(s) URL."
    )
