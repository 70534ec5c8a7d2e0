"""The VectorIO API (seed-era, 0.2 route layout): insert chunks into a vector DB, query it, delete chunks.

Routed by vector DB (``vector_db_id``; resources at ``/v1/vector-dbs``). Shapes follow
``llama-stack-client==0.2.12`` (``vector_io.insert`` / ``vector_io.query``); ``chunk_id`` (alias
``stored_chunk_id``), ``query_embedding`` and ``POST /v1/vector-io/delete`` are additions. The
current client line (0.7) names the DB ``vector_store_id`` (accepted as an alias) and sends chunks
with ``embedding_model`` / ``embedding_dimension``, which results carry too. Query
``params`` are typed by ``QueryParams``; metadata filters use the OpenAI vector-store filter shape
(``{"type": "eq", "key": ..., "value": ...}``, ``{"type": "and"|"or", "filters": [...]}``) or the
shorthand ``{"key": value, ...}`` (all equal).

Providers rarely implement ``VectorIOProvider`` by hand: they implement the smaller ``VectorIndex``
(``stack_core.kits.vector_index``) and return ``VectorIOAdapter(index, context)``, which computes
embeddings through the Inference API and does validation, ranking modes and TTLs in one place.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import AliasChoices, ConfigDict, Field, field_validator, model_validator

from ..fields import MAX_DIMENSION, Identifier, JsonObject
from ..resources import VectorDB
from ..spec import ApiModel, ApiSpec, Route
from .resources import VECTOR_DBS

__all__ = [
    "VECTOR_IO_API",
    "Chunk",
    "ComparisonFilter",
    "CompoundFilter",
    "DeleteChunksRequest",
    "InsertChunksRequest",
    "MetadataFilter",
    "QueryChunksRequest",
    "QueryChunksResponse",
    "QueryParams",
    "Ranker",
    "VectorIOProvider",
]

InterleavedContent = str | dict[str, Any] | list[str | dict[str, Any]]
Scalar = str | int | float | bool
Operator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]


class _Strict(ApiModel):
    model_config = ConfigDict(extra="forbid")


class Chunk(_Strict):
    """A piece of content with metadata; ``chunk_id`` makes inserts idempotent (same id replaces)."""

    content: InterleavedContent = Field(description="Text, or interleaved content items.")
    metadata: JsonObject = Field(default_factory=dict, description="e.g. document_id, source.")
    embedding: list[float] | None = Field(
        default=None, description="Precomputed embedding; computed through the Inference API if absent."
    )
    chunk_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("chunk_id", "stored_chunk_id"),
        description="Stable id; derived from metadata.document_id and the content when absent.",
    )
    chunk_metadata: dict[str, Any] | None = Field(default=None, description="Stored and returned as is.")
    embedding_model: str | None = Field(
        default=None, description="Model of a precomputed embedding; in results, the model that embedded it."
    )
    embedding_dimension: int | None = Field(
        default=None, ge=1, le=MAX_DIMENSION, description="Length of the embedding; must be the vector DB's."
    )


def _db_id(description: str) -> Any:
    """The vector DB field; the current client line names it ``vector_store_id``."""
    return Field(validation_alias=AliasChoices("vector_db_id", "vector_store_id"), description=description)


class InsertChunksRequest(_Strict):
    vector_db_id: Identifier = _db_id("Vector DB to insert into (GET /v1/vector-dbs); alias vector_store_id.")
    chunks: list[Chunk] = Field(min_length=1, description="Chunks to insert or replace.")
    ttl_seconds: int | None = Field(default=None, gt=0, description="Chunks expire after this long.")


class ComparisonFilter(_Strict):
    type: Operator
    key: str
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _list_for_membership(self) -> ComparisonFilter:
        if (self.type in ("in", "nin")) != isinstance(self.value, list):
            raise ValueError(
                f"filter '{self.type}' on '{self.key}' needs {'a list' if self.type in ('in', 'nin') else 'a scalar'} value"
            )
        return self


class CompoundFilter(_Strict):
    type: Literal["and", "or"]
    filters: list[ComparisonFilter | CompoundFilter] = Field(min_length=1)


MetadataFilter = ComparisonFilter | CompoundFilter
_OPERATORS = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "and", "or"}


class Ranker(_Strict):
    """How hybrid mode fuses the vector and keyword rankings."""

    type: Literal["rrf", "weighted"] = "rrf"
    impact_factor: float = Field(default=60.0, gt=0, description="RRF: score = sum 1/(impact_factor + rank).")
    alpha: float = Field(default=0.5, ge=0, le=1, description="weighted: alpha*vector + (1-alpha)*keyword.")


class QueryParams(_Strict):
    """The ``params`` of a query."""

    max_chunks: int = Field(
        default=3, ge=1, le=1000, validation_alias=AliasChoices("max_chunks", "top_k"), description="k."
    )
    score_threshold: float | None = Field(default=None, description="Drop results scoring below this.")
    mode: Literal["vector", "keyword", "hybrid"] = "vector"
    ranker: Ranker = Field(default_factory=Ranker)
    filters: MetadataFilter | None = Field(
        default=None, description="Metadata filter (OpenAI shape or {k: v})."
    )
    include_embeddings: bool = Field(default=False, description="Return the stored embeddings.")

    @field_validator("filters", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            return value
        kind = value.get("type")
        if isinstance(kind, str) and kind in _OPERATORS and ("key" in value or "filters" in value):
            return value
        return {"type": "and", "filters": [{"type": "eq", "key": k, "value": v} for k, v in value.items()]}


class QueryChunksRequest(_Strict):
    vector_db_id: Identifier = _db_id("Vector DB to query; alias vector_store_id.")
    query: InterleavedContent | None = Field(default=None, description="The query text (or content).")
    params: QueryParams = Field(default_factory=QueryParams)
    query_embedding: list[float] | None = Field(
        default=None, description="Query vector (vector mode), instead of embedding the query text."
    )

    @field_validator("params", mode="before")
    @classmethod
    def _none_is_default(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _query_or_vector(self) -> QueryChunksRequest:
        if self.query is None and self.query_embedding is None:
            raise ValueError("give query (text) or query_embedding")
        return self


class DeleteChunksRequest(_Strict):
    vector_db_id: Identifier = _db_id("Vector DB to delete from; alias vector_store_id.")
    chunk_ids: list[str] = Field(
        min_length=1, description="Ids of the chunks to delete (unknown ids are ignored)."
    )


class QueryChunksResponse(ApiModel):
    chunks: list[Chunk]
    scores: list[float]


class VectorIOProvider(Protocol):
    """What a vector_io provider implements (usually ``VectorIOAdapter`` around a ``VectorIndex``).

    Requests arrive with ``vector_db_id`` rewritten to the provider's own name for the DB
    (``VectorDB.provider_key``). ``register_vector_db`` creates the collection or refuses the
    registration (raise ``BadRequestError``); ``unregister_vector_db`` deletes it and its chunks.
    """

    async def register_vector_db(self, vector_db: VectorDB) -> VectorDB:
        """Create the DB's collection (idempotent) and return the resource to record."""
        ...

    async def unregister_vector_db(self, vector_db: VectorDB) -> None:
        """Delete the DB's collection and every chunk in it."""
        ...

    async def insert_chunks(self, request: InsertChunksRequest) -> None:
        """Insert chunks, replacing chunks with the same id."""
        ...

    async def query_chunks(self, request: QueryChunksRequest) -> QueryChunksResponse:
        """The best chunks for a query, best first, with their scores (higher is better)."""
        ...

    async def delete_chunks(self, request: DeleteChunksRequest) -> None:
        """Delete chunks by id."""
        ...


VECTOR_IO_API = ApiSpec(
    name="vector_io",
    description="Chunks in vector DBs: insert (embedded through the Inference API), query, delete.",
    protocol=VectorIOProvider,
    resource=VECTOR_DBS,
    routes=(
        Route(
            "POST",
            "/v1/vector-io/insert",
            "insert_chunks",
            InsertChunksRequest,
            None,
            routing_key="vector_db_id",
            summary="Insert chunks into a vector DB (same chunk id replaces).",
        ),
        Route(
            "POST",
            "/v1/vector-io/query",
            "query_chunks",
            QueryChunksRequest,
            QueryChunksResponse,
            routing_key="vector_db_id",
            summary="Query a vector DB: vector, keyword or hybrid mode, with metadata filters.",
        ),
        Route(
            "POST",
            "/v1/vector-io/delete",
            "delete_chunks",
            DeleteChunksRequest,
            None,
            routing_key="vector_db_id",
            summary="Delete chunks by id.",
        ),
    ),
)
