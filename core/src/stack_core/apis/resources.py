"""Registries of the seven resource kinds: ``/v1/models``, ``/v1/shields``, ... .

Each kind gets the same four routes (list, retrieve, register, unregister), served by the kernel's
``ResourceService``; the shapes follow the 0.2 reference line (``llama-stack-client==0.2.12``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..fields import MAX_DIMENSION, Identifier
from ..resources import (
    Benchmark,
    Dataset,
    DatasetPurpose,
    DataSource,
    McpEndpoint,
    Model,
    Resource,
    ScoringFunction,
    Shield,
    ToolGroup,
    VectorDB,
)
from ..spec import ApiModel, ApiSpec, ResourceKind, Route

__all__ = [
    "BENCHMARKS",
    "DATASETS",
    "MODELS",
    "RESOURCE_KINDS",
    "SCORING_FUNCTIONS",
    "TOOL_GROUPS",
    "BenchmarkRegistrar",
    "DatasetClaimer",
    "DatasetRegistrar",
    "DatasetUnregistrar",
    "ModelLister",
    "ModelRegistrar",
    "ModelUnregistrar",
    "ScoringFunctionLister",
    "ScoringFunctionRegistrar",
    "ShieldLister",
    "ShieldRegistrar",
    "ShieldUnregistrar",
    "ToolGroupClaimer",
    "ToolGroupLister",
    "ToolGroupRegistrar",
    "ToolGroupUnregistrar",
    "VectorDBRegistrar",
    "VectorDBUnregistrar",
    "resource_api",
]


class _Request(ApiModel):
    model_config = ConfigDict(extra="forbid")


class RegisterModelRequest(_Request):
    model_id: Identifier = Field(description="Identifier the model is addressed by.")
    provider_model_id: Identifier | None = Field(default=None, description="Its name inside the provider.")
    provider_id: str | None = Field(default=None, description="Provider serving it (optional if one).")
    model_type: Literal["llm", "embedding"] | None = None
    metadata: dict[str, Any] | None = Field(default=None, description="e.g. embedding_dimension")


class RegisterShieldRequest(_Request):
    shield_id: Identifier
    provider_shield_id: Identifier | None = None
    provider_id: str | None = None
    params: dict[str, Any] | None = None


class RegisterVectorDBRequest(_Request):
    vector_db_id: Identifier
    embedding_model: str
    embedding_dimension: Annotated[int, Field(ge=1, le=MAX_DIMENSION)] | None = None
    provider_id: str | None = None
    provider_vector_db_id: Identifier | None = None
    vector_db_name: str | None = None


class RegisterDatasetRequest(_Request):
    purpose: DatasetPurpose
    source: DataSource
    metadata: dict[str, Any] | None = None
    dataset_id: Identifier | None = None
    provider_id: str | None = None


class RegisterScoringFunctionRequest(_Request):
    scoring_fn_id: Identifier
    description: str | None = None
    return_type: dict[str, Any] | None = None
    provider_scoring_fn_id: Identifier | None = None
    provider_id: str | None = None
    params: dict[str, Any] | None = None


class RegisterBenchmarkRequest(_Request):
    benchmark_id: Identifier
    dataset_id: str
    scoring_functions: list[str]
    provider_benchmark_id: Identifier | None = None
    provider_id: str | None = None
    metadata: dict[str, Any] | None = None


class RegisterToolGroupRequest(_Request):
    toolgroup_id: Identifier
    provider_id: str | None = None
    mcp_endpoint: McpEndpoint | None = None
    args: dict[str, Any] | None = None


# Optional capabilities of the providers serving each kind (see ``stack_core.capabilities``).


@runtime_checkable
class ModelLister(Protocol):
    async def list_models(self) -> Iterable[Model | Mapping[str, Any]]:
        """The models the backend serves; registered with source ``provider`` at start-up (and
        on refresh), dropped when no longer listed."""
        ...


@runtime_checkable
class ModelRegistrar(Protocol):
    async def register_model(self, model: Model) -> Model | None:
        """Accept (optionally amended), or refuse by raising, a model being registered."""
        ...


@runtime_checkable
class ModelUnregistrar(Protocol):
    async def unregister_model(self, model: Model) -> None: ...


@runtime_checkable
class ShieldLister(Protocol):
    async def list_shields(self) -> Iterable[Shield | Mapping[str, Any]]:
        """The shields the provider serves by itself (registered with source ``provider``)."""
        ...


@runtime_checkable
class ShieldRegistrar(Protocol):
    async def register_shield(self, shield: Shield) -> Shield | None:
        """Accept (optionally amended), or refuse by raising, a shield being registered."""
        ...


@runtime_checkable
class ShieldUnregistrar(Protocol):
    async def unregister_shield(self, shield: Shield) -> None: ...


@runtime_checkable
class VectorDBRegistrar(Protocol):
    async def register_vector_db(self, vector_db: VectorDB) -> VectorDB | None:
        """Create the vector DB's collection (or refuse it)."""
        ...


@runtime_checkable
class VectorDBUnregistrar(Protocol):
    async def unregister_vector_db(self, vector_db: VectorDB) -> None:
        """Drop the vector DB's collection."""
        ...


@runtime_checkable
class DatasetClaimer(Protocol):
    def claims_dataset(self, dataset: Dataset) -> bool:
        """Whether the provider reads this dataset's source (``huggingface://...`` for one, files
        and rows for another); a registration naming no provider goes to the one that claims it."""
        ...


@runtime_checkable
class DatasetRegistrar(Protocol):
    async def register_dataset(self, dataset: Dataset) -> Dataset | None:
        """Check the dataset's source can be read (or refuse it); rows sources are stored."""
        ...


@runtime_checkable
class DatasetUnregistrar(Protocol):
    async def unregister_dataset(self, dataset: Dataset) -> None:
        """Drop what the provider stored for the dataset (rows, appended file versions)."""
        ...


@runtime_checkable
class ScoringFunctionLister(Protocol):
    async def list_scoring_functions(self) -> Iterable[ScoringFunction | Mapping[str, Any]]:
        """The scoring functions the provider has built in (``basic::equality``, ...)."""
        ...


@runtime_checkable
class ScoringFunctionRegistrar(Protocol):
    async def register_scoring_function(self, function: ScoringFunction) -> ScoringFunction | None:
        """Accept (optionally amended), or refuse by raising, a scoring function being registered
        (e.g. one whose ``provider_scoring_fn_id`` names no function of the provider)."""
        ...


@runtime_checkable
class BenchmarkRegistrar(Protocol):
    async def register_benchmark(self, benchmark: Benchmark) -> Benchmark | None:
        """Accept (optionally amended), or refuse by raising, a benchmark being registered."""
        ...


@runtime_checkable
class ToolGroupLister(Protocol):
    async def list_tool_groups(self) -> Iterable[ToolGroup | Mapping[str, Any]]:
        """The tool groups the provider serves by itself (``builtin::rag``, ...)."""
        ...


@runtime_checkable
class ToolGroupClaimer(Protocol):
    def claims_tool_group(self, group: ToolGroup) -> bool:
        """Whether the provider serves this kind of group (MCP servers' for one: groups with an
        ``mcp_endpoint``); a registration naming no provider goes to the one that claims it."""
        ...


@runtime_checkable
class ToolGroupRegistrar(Protocol):
    async def register_tool_group(self, group: ToolGroup) -> ToolGroup | None:
        """Accept (optionally amended), or refuse by raising, a tool group being registered."""
        ...


@runtime_checkable
class ToolGroupUnregistrar(Protocol):
    async def unregister_tool_group(self, group: ToolGroup) -> None:
        """Release what the provider holds for the group (connections, sessions)."""
        ...


def _kind(
    cls: type[Resource],
    singular: str,
    plural: str,
    api: str,
    path: str,
    id_param: str,
    provider_id_param: str,
    request: type[BaseModel],
    config_key: str,
    path_param: str | None = None,
    **capabilities: Any,
) -> ResourceKind:
    type_ = cls.model_fields["type"].default
    return ResourceKind(
        type_,
        singular,
        plural,
        cls,
        api,
        path,
        id_param,
        provider_id_param,
        request,
        path_param,
        config_key,
        **capabilities,
    )


MODELS = _kind(
    Model,
    "model",
    "models",
    "inference",
    "/v1/models",
    "model_id",
    "provider_model_id",
    RegisterModelRequest,
    "models",
    list_aliases=("/v1/openai/v1/models",),
    lister=ModelLister,
    registrar=ModelRegistrar,
    unregistrar=ModelUnregistrar,
)
SHIELDS = _kind(
    Shield,
    "shield",
    "shields",
    "safety",
    "/v1/shields",
    "shield_id",
    "provider_shield_id",
    RegisterShieldRequest,
    "shields",
    path_param="identifier",
    lister=ShieldLister,
    registrar=ShieldRegistrar,
    unregistrar=ShieldUnregistrar,
)
VECTOR_DBS = _kind(
    VectorDB,
    "vector_db",
    "vector_dbs",
    "vector_io",
    "/v1/vector-dbs",
    "vector_db_id",
    "provider_vector_db_id",
    RegisterVectorDBRequest,
    "vector_dbs",
    registrar=VectorDBRegistrar,
    unregistrar=VectorDBUnregistrar,
)
DATASETS = _kind(
    Dataset,
    "dataset",
    "datasets",
    "datasetio",
    "/v1/datasets",
    "dataset_id",
    "provider_dataset_id",
    RegisterDatasetRequest,
    "datasets",
    claimer=DatasetClaimer,
    registrar=DatasetRegistrar,
    unregistrar=DatasetUnregistrar,
)
SCORING_FUNCTIONS = _kind(
    ScoringFunction,
    "scoring_function",
    "scoring_functions",
    "scoring",
    "/v1/scoring-functions",
    "scoring_fn_id",
    "provider_scoring_fn_id",
    RegisterScoringFunctionRequest,
    "scoring_fns",
    lister=ScoringFunctionLister,
    registrar=ScoringFunctionRegistrar,
)
BENCHMARKS = _kind(
    Benchmark,
    "benchmark",
    "benchmarks",
    "eval",
    "/v1/eval/benchmarks",
    "benchmark_id",
    "provider_benchmark_id",
    RegisterBenchmarkRequest,
    "benchmarks",
    registrar=BenchmarkRegistrar,
)
TOOL_GROUPS = _kind(
    ToolGroup,
    "tool_group",
    "tool_groups",
    "tool_runtime",
    "/v1/toolgroups",
    "toolgroup_id",
    "provider_toolgroup_id",
    RegisterToolGroupRequest,
    "tool_groups",
    claimer=ToolGroupClaimer,
    lister=ToolGroupLister,
    registrar=ToolGroupRegistrar,
    unregistrar=ToolGroupUnregistrar,
)
RESOURCE_KINDS: tuple[ResourceKind, ...] = (
    MODELS,
    SHIELDS,
    VECTOR_DBS,
    DATASETS,
    SCORING_FUNCTIONS,
    BENCHMARKS,
    TOOL_GROUPS,
)


def resource_api(kind: ResourceKind) -> ApiSpec:
    """The registry API of one resource kind (served by the kernel, not a provider). The plugin
    loader derives it for every API that routes by a kind: an API is registered once."""
    name = kind.resource.__name__
    param = kind.path_param or kind.id_param
    fields: dict[str, Any] = {param: (Identifier, ...)}
    by_id: type[BaseModel] = create_model(f"{name}IdRequest", __base__=ApiModel, **fields)
    listing_fields: dict[str, Any] = {"object": (Literal["list"], "list"), "data": (list[kind.resource], ...)}  # type: ignore[name-defined]
    listing: type[BaseModel] = create_model(f"List{name}sResponse", __base__=ApiModel, **listing_fields)
    return ApiSpec(
        name=kind.plural,
        description=f"Registry of {kind.plural.replace('_', ' ')} (served by {kind.api} providers).",
        provider_required=False,
        resource=kind,
        depends_on=(kind.api,),
        routes=(
            Route(
                "GET",
                kind.path,
                "list",
                response=listing,
                summary=f"List {kind.plural}.",
                aliases=kind.list_aliases,
            ),
            Route("GET", kind.item_path, "get", by_id, kind.resource, summary=f"Get a {kind.singular}."),
            Route(
                "POST",
                kind.path,
                "register",
                kind.register_request,
                kind.resource,
                summary=f"Register a {kind.singular}.",
            ),
            Route(
                "DELETE", kind.item_path, "unregister", by_id, None, summary=f"Unregister a {kind.singular}."
            ),
        ),
    )
