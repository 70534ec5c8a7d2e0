"""Configuration of the pgvector provider."""

from __future__ import annotations

from pydantic import Field, SecretStr

from stack_core import ConfigModel


class PGVectorConfig(ConfigModel):
    url: SecretStr | None = Field(
        default=None,
        description="A postgresql:// URL (takes precedence over host/port/db/user/password); "
        "?host=/dir connects through a Unix socket.",
    )
    host: str = Field(default="localhost", description="Server host, or a Unix-socket directory.")
    port: int = Field(default=5432, description="Server port.")
    db: str = Field(default="postgres", description="Database name.")
    user: str = Field(default="postgres", description="User name.")
    password: SecretStr | None = Field(default=None, description="Password.")
    pool_size: int = Field(default=5, ge=1, description="Connections kept open.")
    hnsw_m: int = Field(default=16, ge=2, description="HNSW graph degree (index build).")
    hnsw_ef_construction: int = Field(default=64, ge=4, description="HNSW build candidate list size.")
    ef_search: int = Field(default=40, ge=1, description="HNSW search candidate list size (recall vs speed).")
    text_search_config: str = Field(default="english", description="Postgres text search configuration.")
