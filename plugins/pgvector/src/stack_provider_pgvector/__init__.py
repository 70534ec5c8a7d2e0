"""``remote::pgvector``: vector DBs as Postgres tables with a pgvector HNSW index."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="vector_io",
        provider_type="remote::pgvector",
        config="stack_provider_pgvector.config:PGVectorConfig",
        factory="stack_provider_pgvector.adapter:create_provider",
        optional_deps=("inference",),
        sample_config={
            "host": "${env.PGVECTOR_HOST}",
            "port": "${env.PGVECTOR_PORT:=5432}",
            "db": "${env.PGVECTOR_DB:=postgres}",
            "user": "${env.PGVECTOR_USER:=postgres}",
            "password": "${env.PGVECTOR_PASSWORD:=}",
        },
        enable_env="PGVECTOR_HOST",
        description="Postgres with pgvector: HNSW (cosine) and full-text keyword search.",
    )
