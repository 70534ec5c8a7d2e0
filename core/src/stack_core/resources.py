"""Typed resources: the objects an API routes on (Model, Shield, VectorDB, ...).

Every resource has an ``identifier`` (the name users address it by), the ``provider_id`` of the
provider instance that serves it, the ``provider_resource_id`` (its name inside that provider,
defaulting to the identifier) and an ``owner``. The JSON shapes match the 0.2 reference line so that
``llama-stack-client==0.2.12`` reads them unchanged.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

__all__ = [
    "Benchmark",
    "DataSource",
    "Dataset",
    "DatasetPurpose",
    "Model",
    "Resource",
    "RowsDataSource",
    "ScoringFunction",
    "Shield",
    "ToolGroup",
    "UriDataSource",
    "User",
    "VectorDB",
]


class User(BaseModel):
    """Who registered a resource, and the access attributes they held (roles, teams, ...)."""

    principal: str
    attributes: dict[str, list[str]] = Field(default_factory=dict)


class Resource(BaseModel):
    """Base of all resources. Subclasses fix ``type`` to a literal; their validators are built on
    first use, like the API models'."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    identifier: str = Field(description="Name users address the resource by.")
    provider_id: str = Field(description="Provider instance that serves it.")
    provider_resource_id: str | None = Field(
        default=None, description="Name of the resource inside the provider; defaults to identifier."
    )
    type: str
    owner: User | None = None

    @model_validator(mode="after")
    def _default_provider_resource_id(self) -> Resource:
        if self.provider_resource_id is None:
            self.provider_resource_id = self.identifier
        return self

    @property
    def provider_key(self) -> str:
        """The provider-side name, never None after validation."""
        return self.provider_resource_id or self.identifier


class Model(Resource):
    """A model; also serialised with the OpenAI model fields (id, object, created, owned_by) and the
    current client line's ``custom_metadata``."""

    type: Literal["model"] = "model"
    model_type: Literal["llm", "embedding"] = "llm"
    metadata: dict[str, Any] = Field(default_factory=dict)
    created: int = Field(default_factory=lambda: int(time.time()))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        return self.identifier

    @computed_field  # type: ignore[prop-decorator]
    @property
    def object(self) -> Literal["model"]:
        return "model"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def owned_by(self) -> str:
        return self.provider_id

    @computed_field  # type: ignore[prop-decorator]
    @property
    def custom_metadata(self) -> dict[str, Any]:
        """Where the current client line (``llama-stack-client`` 0.7) reads the model's type, provider
        and metadata from: ``metadata`` with ``model_type``, ``provider_id`` and ``provider_resource_id``."""
        return {
            **self.metadata,
            "model_type": self.model_type,
            "provider_id": self.provider_id,
            "provider_resource_id": self.provider_key,
        }


class Shield(Resource):
    type: Literal["shield"] = "shield"
    params: dict[str, Any] | None = None


class VectorDB(Resource):
    type: Literal["vector_db"] = "vector_db"
    embedding_model: str
    embedding_dimension: int = 384
    vector_db_name: str | None = None


DatasetPurpose = Literal["post-training/messages", "eval/question-answer", "eval/messages-answer"]


class UriDataSource(BaseModel):
    """Rows read from a URI: ``data:`` (CSV, JSON, JSONL), ``file://`` (CSV, JSON, JSONL, Parquet),
    ``huggingface://datasets/<path>?split=...``."""

    type: Literal["uri"] = "uri"
    uri: str = Field(min_length=1)


class RowsDataSource(BaseModel):
    """Rows given inline at registration."""

    type: Literal["rows"] = "rows"
    rows: list[dict[str, Any]]


DataSource = Annotated[UriDataSource | RowsDataSource, Field(discriminator="type")]


class Dataset(Resource):
    type: Literal["dataset"] = "dataset"
    purpose: DatasetPurpose
    source: DataSource
    metadata: dict[str, Any] = Field(default_factory=dict)


class ScoringFunction(Resource):
    type: Literal["scoring_function"] = "scoring_function"
    description: str | None = None
    return_type: dict[str, Any] = Field(default_factory=lambda: {"type": "string"})
    params: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Benchmark(Resource):
    type: Literal["benchmark"] = "benchmark"
    dataset_id: str
    scoring_functions: list[str]
    metadata: dict[str, Any] = Field(default_factory=dict)


class McpEndpoint(BaseModel):
    uri: str


class ToolGroup(Resource):
    type: Literal["tool_group"] = "tool_group"
    mcp_endpoint: McpEndpoint | None = None
    args: dict[str, Any] | None = None
