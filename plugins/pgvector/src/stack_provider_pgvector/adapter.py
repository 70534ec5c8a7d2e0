"""Vector DBs as Postgres tables: ``vector(N)`` under HNSW (cosine), a generated ``tsvector`` under
GIN (keyword mode), JSONB metadata under GIN (filters as JSON path predicates, ``@?``).

Table names are derived from the vector DB's provider key (``stack_vec_<hash>``); every statement
binds its values. Filtered vector queries rely on pgvector's iterative index scans (0.8+).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import URL, make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from stack_core import (
    ComparisonFilter,
    ConfigError,
    ConflictError,
    IndexedChunk,
    MetadataFilter,
    ProviderContext,
    VectorDB,
    VectorHit,
    VectorIOAdapter,
    keyword_terms,
)

from .config import PGVectorConfig

_OPS = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_WORD = re.compile(r"^\w+$")


def table_name(key: str) -> str:
    return "stack_vec_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def json_path(where: ComparisonFilter, value: Any) -> str:
    op = "==" if where.type in ("in", "nin") else _OPS[where.type]
    return f"$.{orjson.dumps(where.key).decode()} ? (@ {op} {orjson.dumps(value).decode()})"


def sql_filter(where: MetadataFilter, params: dict[str, Any]) -> str:
    """A SQL condition on ``metadata`` for the filter; its values are added to ``params``."""
    if not isinstance(where, ComparisonFilter):
        glue = " AND " if where.type == "and" else " OR "
        return "(" + glue.join(sql_filter(f, params) for f in where.filters) + ")"
    values = where.value if isinstance(where.value, list) else [where.value]
    tests = []
    for value in values:
        name = f"f{len(params)}"
        params[name] = json_path(where, value)
        tests.append(f"metadata @? CAST(:{name} AS jsonpath)")
    condition = "(" + " OR ".join(tests) + ")"
    return f"NOT {condition}" if where.type == "nin" else condition


def engine_url(config: PGVectorConfig) -> URL:
    if config.url is not None:
        url = make_url(config.url.get_secret_value())
        return url.set(drivername="postgresql+asyncpg")
    password = config.password.get_secret_value() if config.password else None
    socket = config.host.startswith("/")
    return URL.create(
        "postgresql+asyncpg",
        username=config.user,
        password=password,
        host=None if socket else config.host,
        port=None if socket else config.port,
        database=config.db,
        query={"host": config.host} if socket else {},
    )


class PGVectorIndex:
    """A ``VectorIndex`` on Postgres + pgvector."""

    def __init__(self, engine: AsyncEngine, config: PGVectorConfig) -> None:
        self.engine, self.config = engine, config
        if not _WORD.match(config.text_search_config):
            raise ConfigError(
                f"text_search_config must be a configuration name, not {config.text_search_config!r}"
            )

    async def start(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('stack_vector_extension'))"))
            await conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))

    async def create(self, db: VectorDB) -> None:
        t, dim, cfg = table_name(db.provider_key), db.embedding_dimension, self.config.text_search_config
        async with self.engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": t})
            stored = (
                await conn.execute(
                    text(
                        "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass(:t) AND attname = 'embedding'"
                    ),
                    {"t": t},
                )
            ).scalar()
            if stored is not None:
                if stored != dim:
                    raise ConflictError(
                        f"Table {t} already holds {stored}-dimensional vectors; vector DB '{db.identifier}' "
                        f"wants {dim}.",
                        param="embedding_dimension",
                    )
                return
            await conn.execute(
                text(
                    f"CREATE TABLE {t} (id text PRIMARY KEY, text text NOT NULL, document jsonb NOT NULL, "
                    f"metadata jsonb NOT NULL, embedding vector({dim}) NOT NULL, tsv tsvector GENERATED ALWAYS "
                    f"AS (to_tsvector('{cfg}'::regconfig, text)) STORED)"
                )
            )
            await conn.execute(
                text(
                    f"CREATE INDEX {t}_hnsw ON {t} USING hnsw (embedding vector_cosine_ops) "
                    f"WITH (m = {self.config.hnsw_m}, ef_construction = {self.config.hnsw_ef_construction})"
                )
            )
            await conn.execute(text(f"CREATE INDEX {t}_tsv ON {t} USING gin (tsv)"))
            await conn.execute(text(f"CREATE INDEX {t}_meta ON {t} USING gin (metadata jsonb_path_ops)"))

    async def drop(self, db: VectorDB) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table_name(db.provider_key)}"))

    async def upsert(self, db: VectorDB, chunks: Sequence[IndexedChunk]) -> None:
        t = table_name(db.provider_key)
        statement = text(
            f"INSERT INTO {t} (id, text, document, metadata, embedding) VALUES (:id, :text, "
            "CAST(:document AS jsonb), CAST(:metadata AS jsonb), CAST(:embedding AS vector)) "
            "ON CONFLICT (id) DO UPDATE SET text = EXCLUDED.text, document = EXCLUDED.document, "
            "metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding"
        )
        rows = [
            {
                "id": c.id,
                "text": c.text,
                "document": orjson.dumps(c.document).decode(),
                "metadata": orjson.dumps(c.metadata).decode(),
                "embedding": orjson.dumps(c.embedding).decode(),
            }
            for c in chunks
        ]
        async with self.engine.begin() as conn:
            await conn.execute(statement, rows)

    async def delete(self, db: VectorDB, ids: Sequence[str]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                text(f"DELETE FROM {table_name(db.provider_key)} WHERE id = ANY(:ids)"), {"ids": list(ids)}
            )

    async def _select(
        self, conn: AsyncConnection, sql: str, params: dict[str, Any], with_embeddings: bool
    ) -> list[VectorHit]:
        rows = (await conn.execute(text(sql), params)).all()
        return [
            VectorHit(
                row.id, float(row.score), row.document, orjson.loads(row.vec) if with_embeddings else None
            )
            for row in rows
        ]

    async def query_vector(
        self,
        db: VectorDB,
        embedding: list[float],
        k: int,
        where: MetadataFilter | None,
        with_embeddings: bool,
    ) -> list[VectorHit]:
        params: dict[str, Any] = {"q": orjson.dumps(embedding).decode(), "k": k}
        condition = f"WHERE {sql_filter(where, params)}" if where else ""
        vec = ", embedding::text AS vec" if with_embeddings else ""
        sql = (
            f"SELECT id, document, 1 - (embedding <=> CAST(:q AS vector)) AS score{vec} "
            f"FROM {table_name(db.provider_key)} {condition} "
            "ORDER BY embedding <=> CAST(:q AS vector) LIMIT :k"
        )
        async with self.engine.begin() as conn:
            if k > self.config.ef_search:
                await conn.execute(text(f"SET LOCAL hnsw.ef_search = {int(k)}"))
            hits = await self._select(conn, sql, params, with_embeddings)
        return sorted(hits, key=lambda h: h.score, reverse=True)

    async def query_keyword(
        self, db: VectorDB, text_query: str, k: int, where: MetadataFilter | None, with_embeddings: bool
    ) -> list[VectorHit]:
        terms = keyword_terms(text_query)
        params: dict[str, Any] = {"tsq": " | ".join(f"'{t}'" for t in terms), "k": k}
        condition = f"AND {sql_filter(where, params)}" if where else ""
        vec = ", embedding::text AS vec" if with_embeddings else ""
        cfg = self.config.text_search_config
        sql = (
            f"SELECT id, document, ts_rank_cd(tsv, query) AS score{vec} "
            f"FROM {table_name(db.provider_key)}, to_tsquery('{cfg}'::regconfig, :tsq) AS query "
            f"WHERE tsv @@ query {condition} ORDER BY score DESC LIMIT :k"
        )
        async with self.engine.begin() as conn:
            return await self._select(conn, sql, params, with_embeddings)

    async def health(self) -> dict[str, str]:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return {"status": "OK"}

    async def close(self) -> None:
        await self.engine.dispose()


async def create_provider(config: PGVectorConfig, context: ProviderContext) -> VectorIOAdapter:
    engine = create_async_engine(
        engine_url(config),
        pool_size=config.pool_size,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {
                "hnsw.ef_search": str(config.ef_search),
                "hnsw.iterative_scan": "relaxed_order",
            }
        },
    )
    index = PGVectorIndex(engine, config)
    try:
        await index.start()
    except Exception:
        await engine.dispose()
        raise
    return VectorIOAdapter(index, context)
