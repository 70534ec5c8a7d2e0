"""The Tool Runtime API: the tools of registered tool groups, listed with their JSON schemas and
invoked by name, and the RAG tool's insert and query.

Routes follow the 0.2 reference line, so ``llama-stack-client==0.2.12`` works unchanged:
``GET /v1/tools?toolgroup_id=``, ``GET /v1/tools/{tool_name}``, ``GET /v1/tool-runtime/list-tools``,
``POST /v1/tool-runtime/invoke`` and ``POST /v1/tool-runtime/rag-tool/insert|query``; the groups
themselves are the ``tool_group`` resource (``/v1/toolgroups``).

A tool keeps the JSON schema of its input exactly as its source gave it (``input_schema``: nested
objects, arrays, ``$ref``, no arguments at all); the 0.2 line's flat ``parameters`` list is derived
from it for the clients that read that. The kernel's router (``stack_core.tool_router``) lists a
group's tools through its provider once and caches them, and sends ``invoke`` to the provider of
the group that has the tool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import ConfigDict, Field, computed_field, field_validator

from ..resources import McpEndpoint, ToolGroup
from ..spec import ApiModel, ApiSpec, Route
from .resources import TOOL_GROUPS

__all__ = [
    "TOOL_RUNTIME_API",
    "Content",
    "InsertDocumentsRequest",
    "InvokeToolRequest",
    "ListRuntimeToolsRequest",
    "ListToolDefsResponse",
    "ListToolsRequest",
    "ListToolsResponse",
    "RagDocument",
    "RagQueryConfig",
    "RagQueryRequest",
    "RagQueryResult",
    "RagToolRuntime",
    "Tool",
    "ToolDef",
    "ToolInvocation",
    "ToolInvocationResult",
    "ToolListingScope",
    "ToolParameter",
    "ToolRequest",
    "ToolRuntimeProvider",
    "flat_parameters",
    "parameters_schema",
]

Content = str | dict[str, Any] | list[Any]
"""Interleaved content of the 0.2 line: a string, a content item (``{"type": "text", ...}``,
an image) or a list of them."""

DEFAULT_CHUNK_TEMPLATE = "Result {index}\nContent: {chunk.content}\nMetadata: {metadata}\n"


class _Strict(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ToolParameter(ApiModel):
    """One top-level argument, as the 0.2 line's flat parameter list describes it."""

    name: str
    parameter_type: str
    description: str = ""
    required: bool = True
    default: Any = None


def _schema_type(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    if isinstance(declared, list):
        return next((str(t) for t in declared if t != "null"), "null")
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "object" if "$ref" in schema else "any"


def flat_parameters(schema: Mapping[str, Any]) -> list[ToolParameter]:
    """The top-level properties of a JSON schema as the 0.2 line's parameter list (nested shapes
    are only named by type there; ``input_schema`` keeps them)."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return []
    required = set(schema.get("required") or ())
    return [
        ToolParameter(
            name=name,
            parameter_type=_schema_type(spec) if isinstance(spec, Mapping) else "any",
            description=str(spec.get("description") or spec.get("title") or "")
            if isinstance(spec, Mapping)
            else "",
            required=name in required,
            default=spec.get("default") if isinstance(spec, Mapping) else None,
        )
        for name, spec in properties.items()
    ]


_JSON_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
}


def parameters_schema(parameters: Sequence[ToolParameter]) -> dict[str, Any]:
    """The JSON schema of a 0.2 flat parameter list (Python type names become JSON schema types)."""
    properties: dict[str, dict[str, Any]] = {}
    for param in parameters:
        prop: dict[str, Any] = {"type": _JSON_TYPES.get(param.parameter_type, param.parameter_type)}
        if param.description:
            prop["description"] = param.description
        if param.default is not None:
            prop["default"] = param.default
        properties[param.name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": [p.name for p in parameters if p.required],
    }


class ToolDef(ApiModel):
    """A tool as its provider describes it."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    name: str = Field(min_length=1)
    description: str | None = None
    input_schema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON schema of the arguments, verbatim from the tool's source.",
    )
    output_schema: dict[str, Any] | None = Field(
        default=None, description="JSON schema of structured results."
    )
    metadata: dict[str, Any] | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def parameters(self) -> list[ToolParameter]:
        return flat_parameters(self.input_schema)


class Tool(ToolDef):
    """A tool of a registered group (``GET /v1/tools``): the definition plus where it comes from."""

    identifier: str
    provider_id: str
    provider_resource_id: str | None = None
    toolgroup_id: str
    tool_host: Literal["distribution", "client", "model_context_protocol"] = "distribution"
    type: Literal["tool"] = "tool"

    @classmethod
    def of(cls, tool: ToolDef, group: ToolGroup) -> Tool:
        host: Literal["distribution", "model_context_protocol"] = (
            "model_context_protocol" if group.mcp_endpoint is not None else "distribution"
        )
        return cls(
            **tool.model_dump(exclude={"parameters"}),
            identifier=tool.name,
            provider_id=group.provider_id,
            provider_resource_id=tool.name,
            toolgroup_id=group.identifier,
            tool_host=host,
        )


class ListToolsResponse(ApiModel):
    data: list[Tool]


class ListToolDefsResponse(ApiModel):
    data: list[ToolDef]


class ToolInvocationResult(ApiModel):
    """What a tool answered: ``content`` for the model, or ``error_message`` (and optionally
    ``error_code``) when the tool itself failed; ``metadata`` for the caller (e.g. document ids,
    MCP structured content)."""

    content: Content | None = None
    error_message: str | None = None
    error_code: int | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class ToolInvocation:
    """One call of a tool, as its provider receives it: the group the tool was found in (its
    ``mcp_endpoint`` and ``args``), the tool's name and the arguments."""

    group: ToolGroup
    tool_name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


class ListToolsRequest(_Strict):
    toolgroup_id: str | None = Field(default=None, description="Only the tools of this group.")


class ToolRequest(_Strict):
    tool_name: str


class ListRuntimeToolsRequest(ApiModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    tool_group_id: str | None = Field(default=None, description="The group whose tools to list.")
    mcp_endpoint: McpEndpoint | None = Field(
        default=None, description="Must match the group's endpoint when given (0.2 clients send it)."
    )

    @field_validator("mcp_endpoint", mode="before")
    @classmethod
    def _uri_string(cls, value: Any) -> Any:
        return {"uri": value} if isinstance(value, str) else value

    def endpoint(self) -> str | None:
        """The endpoint given as ``mcp_endpoint`` or, as the 0.2 client encodes it in the query
        string, ``mcp_endpoint[uri]``."""
        if self.mcp_endpoint is not None:
            return self.mcp_endpoint.uri
        extra = (self.model_extra or {}).get("mcp_endpoint[uri]")
        return str(extra) if extra else None


class InvokeToolRequest(_Strict):
    tool_name: str = Field(min_length=1, description="A tool of a registered group (GET /v1/tools).")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="The tool's arguments.")
    toolgroup_id: str | None = Field(
        default=None, description="Stack: the group whose tool this is (else the first group that has it)."
    )


class RagDocument(ApiModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    document_id: str = Field(min_length=1)
    content: Content = Field(
        description="Text, content items, a data: URI, a file id ({'uri': 'file-...'}) or a URL "
        "({'uri': 'https://...'}) to fetch."
    )
    mime_type: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class InsertDocumentsRequest(_Strict):
    documents: list[RagDocument] = Field(min_length=1)
    vector_db_id: str
    chunk_size_in_tokens: int = Field(default=512, ge=16, le=8192)


class DefaultQueryGenerator(_Strict):
    type: Literal["default"] = "default"
    separator: str = " "


class LlmQueryGenerator(_Strict):
    type: Literal["llm"]
    model: str
    template: str


class RagQueryConfig(ApiModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    query_generator_config: DefaultQueryGenerator | LlmQueryGenerator = Field(
        default_factory=DefaultQueryGenerator, discriminator="type"
    )
    max_tokens_in_context: int = Field(default=4096, ge=1)
    max_chunks: int = Field(default=5, ge=1, le=100)
    chunk_template: str = DEFAULT_CHUNK_TEMPLATE
    mode: Literal["vector", "keyword", "hybrid"] | None = "vector"
    ranker: dict[str, Any] | None = None

    @field_validator("chunk_template")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        for needed in ("{chunk.content}",):
            if needed not in value:
                raise ValueError(f"chunk_template must contain {needed}")
        return value


class RagQueryRequest(_Strict):
    content: Content
    vector_db_ids: list[str] = Field(min_length=1)
    query_config: RagQueryConfig | None = None


class RagQueryResult(ApiModel):
    content: Content | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ToolRuntimeProvider(Protocol):
    """What a tool runtime provider implements. Optional extras: ``list_tool_groups()`` (groups it
    serves out of the box, e.g. ``builtin::rag``), ``register_tool_group(group)`` (accept, amend or
    refuse one), ``unregister_tool_group(group)``, ``ToolListingScope``, the ``RagToolRuntime``
    routes, ``health()``."""

    async def list_runtime_tools(self, group: ToolGroup) -> Sequence[ToolDef | Mapping[str, Any]]:
        """The group's tools with their input schemas (the kernel caches them)."""
        ...

    async def invoke_tool(self, call: ToolInvocation) -> ToolInvocationResult | Mapping[str, Any]:
        """Run one tool. A failure of the tool itself is a result with ``error_message``; a
        transport failure (server down, timeout) raises ``ProviderError`` / ``ProviderTimeoutError``."""
        ...


@runtime_checkable
class ToolListingScope(Protocol):
    """A provider whose servers may list different tools to different callers (an MCP server
    authorizing each caller's credentials): the kernel keeps one listing per group and scope."""

    def listing_scope(self, group: ToolGroup) -> str:
        """Whose view of ``group``'s tools a listing made now would be, e.g. a digest of the current
        user and the credentials in effect for the group's server (never the credentials)."""
        ...


@runtime_checkable
class RagToolRuntime(Protocol):
    """The RAG tool's document routes (``inline::rag-runtime``)."""

    async def rag_tool_insert(self, request: InsertDocumentsRequest) -> None: ...

    async def rag_tool_query(self, request: RagQueryRequest) -> RagQueryResult: ...


TOOL_RUNTIME_API = ApiSpec(
    name="tool_runtime",
    description="Tools of registered tool groups (MCP servers, RAG, web search): list and invoke.",
    protocol=ToolRuntimeProvider,
    resource=TOOL_GROUPS,
    router="stack_core.tool_router:ToolRuntimeRouter",
    routes=(
        Route(
            "GET",
            "/v1/tools",
            "list_tools",
            ListToolsRequest,
            ListToolsResponse,
            summary="List the tools of the tool groups you can see (or of one group).",
        ),
        Route("GET", "/v1/tools/{tool_name:path}", "get_tool", ToolRequest, Tool, summary="Get one tool."),
        Route(
            "GET",
            "/v1/tool-runtime/list-tools",
            "list_runtime_tools",
            ListRuntimeToolsRequest,
            ListToolDefsResponse,
            summary="List a tool group's tool definitions.",
        ),
        Route(
            "POST",
            "/v1/tool-runtime/invoke",
            "invoke_tool",
            InvokeToolRequest,
            ToolInvocationResult,
            summary="Invoke a tool by name.",
        ),
        Route(
            "POST",
            "/v1/tool-runtime/rag-tool/insert",
            "rag_tool_insert",
            InsertDocumentsRequest,
            None,
            summary="Chunk documents and insert them into a vector DB.",
        ),
        Route(
            "POST",
            "/v1/tool-runtime/rag-tool/query",
            "rag_tool_query",
            RagQueryRequest,
            RagQueryResult,
            summary="Retrieve context for a query from vector DBs.",
        ),
    ),
)
