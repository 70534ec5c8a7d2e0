"""The Responses API (OpenAI shape): one model turn, with server-side tools run in a loop.

``POST /v1/responses`` creates a response (JSON, or named SSE events with ``stream``), ``GET`` /
``DELETE /v1/responses/{id}`` retrieve and delete a stored one, ``GET /v1/responses`` lists them and
``GET /v1/responses/{id}/input_items`` lists what it was given; every route also under the
``/v1/openai/v1/...`` alias the ``llama-stack-client`` 0.2 line uses. Stored responses are the
current user's (another user gets 404). Conversation state carries over with
``previous_response_id`` (the input and output of that response and of its predecessors are
prepended to the new input) or with ``conversation`` (its items are; the response's input and output
are appended to it: ``stack_core.apis.conversations``), not both. A ``background`` response is
answered at once (``queued``) and completed by a durable job that any server process may run;
``POST /v1/responses/{id}/cancel`` cancels it.

Items — what a response is given (``input``) and produces (``output``) — are one union decoded in
one place (``Item``): a message without ``type`` is a message, as the ``openai`` SDK sends it.
Tools: ``function`` (run by the caller: the response ends with the calls, and the caller answers
with ``function_call_output`` items), ``file_search`` (the stack's vector stores), ``mcp`` (a tool
group registered for the server's URL; ``require_approval``, ``allowed_tools``) and ``web_search``
(the ``builtin::websearch`` tool group). Shapes are those of ``openai.types.responses``; Stack's
additions say so.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from ..framing import NAMED_EVENTS
from ..spec import ApiModel, ApiSpec, Route
from .vector_io import MetadataFilter

__all__ = [
    "RESPONSES_API",
    "ConversationRef",
    "CreateResponseRequest",
    "FileSearchCall",
    "FileSearchResult",
    "FileSearchTool",
    "FunctionCall",
    "FunctionCallOutput",
    "FunctionTool",
    "InputItemList",
    "Item",
    "ListInputItemsRequest",
    "ListResponsesRequest",
    "McpApprovalRequest",
    "McpApprovalResponse",
    "McpCall",
    "McpListTools",
    "McpListedTool",
    "McpTool",
    "Message",
    "OutputText",
    "Response",
    "ResponseDeleted",
    "ResponseError",
    "ResponseEvent",
    "ResponseIdRequest",
    "ResponseList",
    "ResponseUsage",
    "ResponsesProvider",
    "TextFormat",
    "ToolSpec",
    "WebSearchCall",
    "WebSearchTool",
]


class _Strict(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class _Open(ApiModel):
    """Shapes the SDK may grow: unknown fields are kept, not refused."""

    model_config = ConfigDict(extra="allow", defer_build=True)


# -- content and items ----------------------------------------------------------------------------


class InputText(_Open):
    type: Literal["input_text"] = "input_text"
    text: str


class OutputText(_Open):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[dict[str, Any]] = Field(default_factory=list)
    logprobs: list[dict[str, Any]] | None = None


class InputImage(_Open):
    type: Literal["input_image"] = "input_image"
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["low", "high", "auto"] = "auto"


class Refusal(_Open):
    type: Literal["refusal"] = "refusal"
    refusal: str


ContentPart = Annotated[InputText | OutputText | InputImage | Refusal, Field(discriminator="type")]
ItemStatus = Literal["in_progress", "completed", "incomplete", "searching", "failed"]


class Message(_Open):
    """A message: the user's, the developer's (system), or the assistant's output."""

    type: Literal["message"] = "message"
    id: str | None = None
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[ContentPart]
    status: ItemStatus | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(
            p.text if isinstance(p, InputText | OutputText) else p.refusal if isinstance(p, Refusal) else ""
            for p in self.content
        )


class FunctionCall(_Open):
    """A call of a ``function`` tool the model made; the caller runs it."""

    type: Literal["function_call"] = "function_call"
    id: str | None = None
    call_id: str
    name: str
    arguments: str
    status: ItemStatus | None = None


class FunctionCallOutput(_Open):
    """The caller's answer to a ``function_call`` (``call_id``)."""

    type: Literal["function_call_output"] = "function_call_output"
    id: str | None = None
    call_id: str
    output: str | list[dict[str, Any]]
    status: ItemStatus | None = None


class FileSearchResult(_Open):
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, str | float | bool] = Field(default_factory=dict)


class FileSearchCall(_Open):
    type: Literal["file_search_call"] = "file_search_call"
    id: str
    queries: list[str]
    status: ItemStatus
    results: list[FileSearchResult] | None = None


class WebSearchCall(_Open):
    type: Literal["web_search_call"] = "web_search_call"
    id: str
    status: ItemStatus
    action: dict[str, Any] | None = None


class McpListedTool(_Open):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None
    annotations: dict[str, Any] | None = None


class McpListTools(_Open):
    type: Literal["mcp_list_tools"] = "mcp_list_tools"
    id: str
    server_label: str
    tools: list[McpListedTool]
    error: str | None = None


class McpCall(_Open):
    type: Literal["mcp_call"] = "mcp_call"
    id: str
    server_label: str
    name: str
    arguments: str
    output: str | None = None
    error: str | None = None
    status: ItemStatus | None = None
    approval_request_id: str | None = None


class McpApprovalRequest(_Open):
    """An MCP call waiting for the caller's ``mcp_approval_response`` (``require_approval``)."""

    type: Literal["mcp_approval_request"] = "mcp_approval_request"
    id: str
    server_label: str
    name: str
    arguments: str


class McpApprovalResponse(_Open):
    type: Literal["mcp_approval_response"] = "mcp_approval_response"
    id: str | None = None
    approval_request_id: str
    approve: bool
    reason: str | None = None


def _item_type(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) else "message"


Item = Annotated[
    Annotated[Message, Tag("message")]
    | Annotated[FunctionCall, Tag("function_call")]
    | Annotated[FunctionCallOutput, Tag("function_call_output")]
    | Annotated[FileSearchCall, Tag("file_search_call")]
    | Annotated[WebSearchCall, Tag("web_search_call")]
    | Annotated[McpListTools, Tag("mcp_list_tools")]
    | Annotated[McpCall, Tag("mcp_call")]
    | Annotated[McpApprovalRequest, Tag("mcp_approval_request")]
    | Annotated[McpApprovalResponse, Tag("mcp_approval_response")],
    Discriminator(_item_type),
]
"""Any item of a conversation (a message may omit ``type``)."""


# -- tools ----------------------------------------------------------------------------------------


class FunctionTool(_Strict):
    type: Literal["function"] = "function"
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FileSearchTool(_Strict):
    type: Literal["file_search"] = "file_search"
    vector_store_ids: list[str] = Field(min_length=1)
    filters: MetadataFilter | None = None
    max_num_results: int = Field(default=10, ge=1, le=50)
    ranking_options: dict[str, Any] | None = None


class WebSearchTool(_Strict):
    type: Literal[
        "web_search", "web_search_preview", "web_search_preview_2025_03_11", "web_search_2025_08_26"
    ]
    search_context_size: Literal["low", "medium", "high"] | None = None
    user_location: dict[str, Any] | None = None
    filters: dict[str, Any] | None = None


class ToolNames(_Strict):
    tool_names: list[str] = Field(default_factory=list)
    read_only: bool | None = None


class ApprovalFilter(_Strict):
    always: ToolNames | None = None
    never: ToolNames | None = None


class McpTool(_Strict):
    """A remote MCP server's tools, through the tool group registered for ``server_url`` (the
    provider registers one for the user on first use where none is)."""

    type: Literal["mcp"] = "mcp"
    server_label: str = Field(min_length=1)
    server_url: str | None = None
    connector_id: str | None = None
    headers: dict[str, str] | None = Field(default=None, description="Sent to the server with each call.")
    authorization: str | None = Field(default=None, description="OAuth access token for the server.")
    allowed_tools: list[str] | ToolNames | None = None
    require_approval: Literal["always", "never"] | ApprovalFilter | None = Field(
        default=None, description="Which calls wait for the caller's approval (default: all, as OpenAI)."
    )
    server_description: str | None = None

    @model_validator(mode="after")
    def _url_and_no_authorization_header(self) -> McpTool:
        if not self.server_url:
            raise ValueError("server_url is required (connectors are not supported)")
        if any(k.lower() == "authorization" for k in self.headers or {}):
            raise ValueError("pass the token as 'authorization', not as an Authorization header")
        return self

    def without_credentials(self) -> McpTool:
        """The tool as responses show and jobs store it: no ``headers``, no ``authorization``."""
        return self.model_copy(update={"headers": None, "authorization": None})

    def allows(self, name: str) -> bool:
        allowed = self.allowed_tools
        names = allowed.tool_names if isinstance(allowed, ToolNames) else allowed
        return names is None or name in names

    def needs_approval(self, name: str) -> bool:
        policy = self.require_approval
        if policy is None or isinstance(policy, str):
            return policy != "never"
        if policy.never is not None and name in policy.never.tool_names:
            return False
        return policy.always is None or name in policy.always.tool_names


ToolSpec = Annotated[FunctionTool | FileSearchTool | WebSearchTool | McpTool, Field(discriminator="type")]


# -- requests -------------------------------------------------------------------------------------


class TextFormat(_Strict):
    """``text.format``: plain text, a JSON schema, or any JSON object."""

    type: Literal["text", "json_schema", "json_object"] = "text"
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    description: str | None = None
    strict: bool | None = None

    model_config = ConfigDict(
        extra="forbid", validate_by_name=True, serialize_by_alias=True, defer_build=True
    )


class TextConfig(_Open):
    format: TextFormat = Field(default_factory=TextFormat)
    verbosity: Literal["low", "medium", "high"] | None = None


class ConversationRef(_Open):
    id: str


class CreateResponseRequest(_Strict):
    model: str = Field(description="Model identifier, as registered (GET /v1/models).")
    input: str | list[Item]
    instructions: str | None = Field(default=None, description="A system message (not carried over).")
    previous_response_id: str | None = None
    conversation: str | ConversationRef | None = Field(
        default=None, description="A conversation (id) whose items are the history; the turn is appended."
    )
    store: bool = True
    stream: bool = False
    background: bool = False
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] = "auto"
    parallel_tool_calls: bool = True
    max_tool_calls: int | None = Field(default=None, ge=1, description="Server tool calls, in all.")
    max_output_tokens: int | None = Field(default=None, ge=1, description="Tokens of each model step.")
    text: TextConfig = Field(default_factory=TextConfig)
    metadata: dict[str, str] | None = Field(default=None, description="Up to 16 key-value pairs.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    user: str | None = None
    include: list[str] | None = Field(
        default=None, description="Accepted; file search results are always given."
    )
    truncation: Literal["auto", "disabled"] | None = None
    max_infer_iters: int | None = Field(
        default=None, ge=1, le=100, description="Stack: model steps at most (default: the provider's)."
    )
    guardrails: list[str] = Field(
        default_factory=list, description="Stack: shields run on the input and on the answer."
    )

    @model_validator(mode="after")
    def _consistent(self) -> CreateResponseRequest:
        if self.metadata is not None and len(self.metadata) > 16:
            raise ValueError("metadata holds at most 16 pairs")
        if self.background and (self.stream or not self.store):
            raise ValueError("background responses must be stored and cannot stream")
        if self.conversation is not None and self.previous_response_id is not None:
            raise ValueError("conversation and previous_response_id cannot be used together")
        return self

    @property
    def conversation_id(self) -> str | None:
        conversation = self.conversation
        return conversation.id if isinstance(conversation, ConversationRef) else conversation


class ResponseIdRequest(_Strict):
    response_id: str


class ListResponsesRequest(_Strict):
    after: str | None = Field(default=None, description="Cursor: responses after this id.")
    limit: int = Field(default=50, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"
    model: str | None = Field(default=None, description="Only responses of this model.")


class ListInputItemsRequest(ResponseIdRequest):
    after: str | None = None
    before: str | None = None
    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"
    include: list[str] | None = None


# -- replies --------------------------------------------------------------------------------------


class ResponseUsage(ApiModel):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: dict[str, int] = Field(default_factory=lambda: {"cached_tokens": 0})
    output_tokens_details: dict[str, int] = Field(default_factory=lambda: {"reasoning_tokens": 0})


class ResponseError(ApiModel):
    code: str
    message: str


ResponseStatus = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]


class Response(ApiModel):
    id: str
    object: Literal["response"] = "response"
    created_at: int
    completed_at: int | None = None
    model: str
    status: ResponseStatus
    output: list[Item] = Field(default_factory=list)
    error: ResponseError | None = None
    incomplete_details: dict[str, str] | None = None
    instructions: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    conversation: ConversationRef | None = None
    temperature: float | None = None
    top_p: float | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] = "auto"
    tools: list[ToolSpec] = Field(default_factory=list)
    text: TextConfig = Field(default_factory=TextConfig)
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    store: bool = True
    background: bool = False
    usage: ResponseUsage | None = None
    user: str | None = None


class ResponseList(ApiModel):
    object: Literal["list"] = "list"
    data: list[Response]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class InputItemList(ApiModel):
    object: Literal["list"] = "list"
    data: list[Item]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class ResponseDeleted(ApiModel):
    id: str
    object: Literal["response.deleted"] = "response.deleted"
    deleted: bool = True


class ResponseEvent(_Open):
    """One streamed event (``event: <type>``): ``type`` and ``sequence_number`` (0, 1, ...) and the
    fields of that event type as ``openai.types.responses`` declares them (``response``, ``item``,
    ``output_index``, ``item_id``, ``content_index``, ``delta``, ...)."""

    type: str
    sequence_number: int


class ResponsesProvider(Protocol):
    """What a Responses provider implements."""

    async def create_response(self, request: CreateResponseRequest) -> Any:
        """Run the turn: a ``Response``, or with ``stream`` an async iterator of ``ResponseEvent``."""
        ...

    async def retrieve_response(self, request: ResponseIdRequest) -> Response:
        """A stored response."""
        ...

    async def delete_response(self, request: ResponseIdRequest) -> ResponseDeleted:
        """Delete a stored response."""
        ...

    async def list_responses(self, request: ListResponsesRequest) -> ResponseList:
        """The user's stored responses."""
        ...

    async def list_input_items(self, request: ListInputItemsRequest) -> InputItemList:
        """The input items of a stored response."""
        ...

    async def cancel_response(self, request: ResponseIdRequest) -> Response:
        """Cancel a background response (``cancelled``); a finished one is returned as it is."""
        ...


_ONE = "/v1/responses/{response_id}"


def _route(
    method: Literal["GET", "POST", "DELETE"], path: str, name: str, request: Any, response: Any, **more: Any
) -> Route:
    summary = (ResponsesProvider.__dict__[name].__doc__ or name).split("\n")[0]
    return Route(
        method, path, name, request, response, aliases=("/v1/openai" + path,), summary=summary, **more
    )


RESPONSES_API = ApiSpec(
    name="responses",
    description="OpenAI-compatible Responses: a model turn with server-side tools, stored per user.",
    protocol=ResponsesProvider,
    routes=(
        _route(
            "POST",
            "/v1/responses",
            "create_response",
            CreateResponseRequest,
            Response,
            stream=True,
            framing=NAMED_EVENTS,
        ),
        _route("GET", "/v1/responses", "list_responses", ListResponsesRequest, ResponseList),
        _route("GET", _ONE, "retrieve_response", ResponseIdRequest, Response),
        _route("DELETE", _ONE, "delete_response", ResponseIdRequest, ResponseDeleted),
        _route("GET", f"{_ONE}/input_items", "list_input_items", ListInputItemsRequest, InputItemList),
        _route("POST", f"{_ONE}/cancel", "cancel_response", ResponseIdRequest, Response),
    ),
)
