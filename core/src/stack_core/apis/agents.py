"""The Agents API of the Llama Stack 0.2 line, as ``llama-stack-client==0.2.12`` (its ``Agent``
class included) calls it: agents (a stored ``AgentConfig``), their sessions, and turns.

``POST /v1/agents/{agent_id}/session/{session_id}/turn`` runs one turn: input shields, then model
steps with the agent's tools (tool groups, whose ``args`` are merged over the model's arguments,
and ``client_tools``, which the caller runs), then output shields. With ``stream`` (what the
client sends) the turn is bare ``data: {"event": {"payload": ...}}`` events: ``turn_start``, per
step ``step_start`` / ``step_progress`` (text and tool-call deltas) / ``step_complete``, and
``turn_complete``, or ``turn_awaiting_input`` when the model called a client tool; the caller then
answers with ``.../turn/{turn_id}/resume`` and its ``tool_responses``, and the same turn goes on.
Without ``stream`` the reply is the ``Turn``. Agents, sessions and turns are the current user's
(another user gets 404). ``documents`` of a turn are given to the model as context of its last
user message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import ConfigDict, Field, model_validator

from ..framing import TURN_EVENTS
from ..spec import ApiModel, ApiSpec, Route
from .inference_native import (
    CompletionMessage,
    Content,
    ResponseFormat,
    SamplingParams,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolConfig,
    ToolResponseMessage,
    UserMessage,
)
from .safety import SafetyViolation
from .tool_runtime import ToolParameter

__all__ = [
    "AGENTS_API",
    "Agent",
    "AgentConfig",
    "AgentCreated",
    "AgentIdRequest",
    "AgentList",
    "AgentsProvider",
    "ClientTool",
    "CreateAgentRequest",
    "CreateSessionRequest",
    "CreateTurnRequest",
    "Document",
    "InferenceStep",
    "ListAgentsRequest",
    "ListSessionsRequest",
    "ResumeTurnRequest",
    "Session",
    "SessionCreated",
    "SessionList",
    "SessionRequest",
    "ShieldCallStep",
    "Step",
    "StepRequest",
    "StepResponse",
    "ToolExecutionStep",
    "ToolResponse",
    "ToolgroupWithArgs",
    "Turn",
    "TurnEvent",
    "TurnPayload",
    "TurnRequest",
]


class _Open(ApiModel):
    """Shapes the client may grow: unknown fields are kept, not refused."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class _Request(ApiModel):
    """A request body the 0.2 client fills with ``null`` for what it was not given: a null field
    takes its default."""

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_defaults(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


# -- agents ---------------------------------------------------------------------------------


class ToolgroupWithArgs(ApiModel):
    """A tool group (``builtin::rag``) or one tool of it (``builtin::rag/knowledge_search``), with
    arguments merged over the model's in every call."""

    name: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)


Toolgroup = str | ToolgroupWithArgs


class ClientTool(_Open):
    """A tool the caller runs: the turn stops at its calls (``turn_awaiting_input``)."""

    name: str = Field(min_length=1)
    description: str | None = None
    parameters: list[ToolParameter] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None


class AgentConfig(_Open, _Request):
    model: str = Field(description="Model identifier, as registered (GET /v1/models).")
    instructions: str = Field(description="The system message of every session.")
    name: str | None = None
    sampling_params: SamplingParams | None = None
    input_shields: list[str] = Field(default_factory=list)
    output_shields: list[str] = Field(default_factory=list)
    toolgroups: list[Toolgroup] = Field(default_factory=list)
    client_tools: list[ClientTool] = Field(default_factory=list)
    tool_choice: str | None = Field(default=None, description="Deprecated: tool_config.tool_choice.")
    tool_prompt_format: Literal["json", "function_tag", "python_list"] | None = None
    tool_config: ToolConfig | None = None
    max_infer_iters: int | None = Field(
        default=None, ge=1, le=100, description="Model steps of a turn at most (default: the provider's)."
    )
    response_format: ResponseFormat | None = None
    enable_session_persistence: bool | None = Field(default=None, description="Accepted: sessions are kept.")


class CreateAgentRequest(ApiModel):
    agent_config: AgentConfig


class AgentCreated(ApiModel):
    agent_id: str


class Agent(ApiModel):
    agent_id: str
    agent_config: AgentConfig
    created_at: datetime


class AgentIdRequest(ApiModel):
    agent_id: str


class _Page(ApiModel):
    start_index: int | None = Field(default=None, ge=0)
    limit: int | None = Field(default=None, ge=1)


class ListAgentsRequest(_Page):
    """A page of the user's agents."""


class AgentList(ApiModel):
    data: list[Agent]
    has_more: bool = False


# -- turns ----------------------------------------------------------------------------------


class Document(ApiModel):
    """Text given to the model with the turn: a string, text items, or a URI (``data:``, http(s),
    or a file id of the Files API; PDF and Markdown are read as text)."""

    content: Content | dict[str, str]
    mime_type: str


class ToolResponse(_Open):
    call_id: str
    tool_name: str
    content: Content
    metadata: dict[str, Any] | None = None


class _Step(ApiModel):
    step_id: str
    turn_id: str
    started_at: datetime | None = None
    completed_at: datetime | None = None


class InferenceStep(_Step):
    step_type: Literal["inference"] = "inference"
    model_response: CompletionMessage


class ToolExecutionStep(_Step):
    step_type: Literal["tool_execution"] = "tool_execution"
    tool_calls: list[ToolCall]
    tool_responses: list[ToolResponse]


class ShieldCallStep(_Step):
    step_type: Literal["shield_call"] = "shield_call"
    violation: SafetyViolation | None = None


Step = Annotated[InferenceStep | ToolExecutionStep | ShieldCallStep, Field(discriminator="step_type")]
StepType = Literal["inference", "tool_execution", "shield_call"]


class Turn(ApiModel):
    turn_id: str
    session_id: str
    input_messages: list[UserMessage | ToolResponseMessage]
    steps: list[Step]
    output_message: CompletionMessage
    output_attachments: list[dict[str, Any]] = Field(default_factory=list)
    started_at: datetime
    completed_at: datetime | None = None


class CreateTurnRequest(_Request):
    agent_id: str
    session_id: str
    messages: list[Annotated[UserMessage | ToolResponseMessage, Field(discriminator="role")]] = Field(
        min_length=1
    )
    documents: list[Document] = Field(default_factory=list)
    toolgroups: list[Toolgroup] = Field(default_factory=list, description="Added to the agent's.")
    tool_config: ToolConfig | None = Field(default=None, description="Instead of the agent's.")
    stream: bool = False


class ResumeTurnRequest(_Request):
    agent_id: str
    session_id: str
    turn_id: str
    tool_responses: list[ToolResponse] = Field(min_length=1)
    stream: bool = False


class TurnRequest(ApiModel):
    agent_id: str
    session_id: str
    turn_id: str


class StepRequest(TurnRequest):
    step_id: str


class StepResponse(ApiModel):
    step: Step


# -- stream events ---------------------------------------------------------------------------


class TurnStart(ApiModel):
    event_type: Literal["turn_start"] = "turn_start"
    turn_id: str


class StepStart(ApiModel):
    event_type: Literal["step_start"] = "step_start"
    step_type: StepType
    step_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class StepProgress(ApiModel):
    event_type: Literal["step_progress"] = "step_progress"
    step_type: StepType
    step_id: str
    delta: Annotated[TextDelta | ToolCallDelta, Field(discriminator="type")]


class StepComplete(ApiModel):
    event_type: Literal["step_complete"] = "step_complete"
    step_type: StepType
    step_id: str
    step_details: Step


class TurnComplete(ApiModel):
    event_type: Literal["turn_complete"] = "turn_complete"
    turn: Turn


class TurnAwaitingInput(ApiModel):
    event_type: Literal["turn_awaiting_input"] = "turn_awaiting_input"
    turn: Turn


TurnPayload = Annotated[
    TurnStart | StepStart | StepProgress | StepComplete | TurnComplete | TurnAwaitingInput,
    Field(discriminator="event_type"),
]


class _Event(ApiModel):
    payload: TurnPayload


class TurnEvent(ApiModel):
    """One streamed chunk: ``{"event": {"payload": {"event_type": ...}}}``."""

    event: _Event

    @classmethod
    def of(cls, payload: TurnPayload) -> TurnEvent:
        return cls(event=_Event(payload=payload))


# -- sessions -------------------------------------------------------------------------------


class CreateSessionRequest(AgentIdRequest):
    session_name: str


class SessionCreated(ApiModel):
    session_id: str


class SessionRequest(AgentIdRequest):
    session_id: str
    turn_ids: list[str] | None = Field(default=None, description="Only these turns.")


class Session(ApiModel):
    session_id: str
    session_name: str
    started_at: datetime
    turns: list[Turn] = Field(default_factory=list)


class ListSessionsRequest(_Page, AgentIdRequest):
    """A page of an agent's sessions."""


class SessionList(ApiModel):
    data: list[Session]
    has_more: bool = False


class AgentsProvider(Protocol):
    """What an Agents provider implements."""

    async def create_agent(self, request: CreateAgentRequest) -> AgentCreated:
        """Create an agent from its configuration."""
        ...

    async def list_agents(self, request: ListAgentsRequest) -> AgentList:
        """The user's agents."""
        ...

    async def get_agent(self, request: AgentIdRequest) -> Agent:
        """An agent and its configuration."""
        ...

    async def delete_agent(self, request: AgentIdRequest) -> None:
        """Delete an agent with its sessions."""
        ...

    async def create_session(self, request: CreateSessionRequest) -> SessionCreated:
        """Start a session of an agent."""
        ...

    async def list_sessions(self, request: ListSessionsRequest) -> SessionList:
        """An agent's sessions."""
        ...

    async def get_session(self, request: SessionRequest) -> Session:
        """A session with its turns."""
        ...

    async def delete_session(self, request: SessionRequest) -> None:
        """Delete a session with its turns."""
        ...

    async def create_turn(self, request: CreateTurnRequest) -> Any:
        """Run a turn: the ``Turn``, or with ``stream`` an async iterator of ``TurnEvent``."""
        ...

    async def resume_turn(self, request: ResumeTurnRequest) -> Any:
        """Continue a turn awaiting the caller's tool responses (as ``create_turn`` replies)."""
        ...

    async def get_turn(self, request: TurnRequest) -> Turn:
        """A turn of a session."""
        ...

    async def get_step(self, request: StepRequest) -> StepResponse:
        """One step of a turn."""
        ...


_AGENT = "/v1/agents/{agent_id}"
_SESSION = _AGENT + "/session/{session_id}"
_TURN = _SESSION + "/turn/{turn_id}"


def _route(
    method: Literal["GET", "POST", "DELETE"], path: str, name: str, request: Any, response: Any, **more: Any
) -> Route:
    summary = (AgentsProvider.__dict__[name].__doc__ or name).split("\n")[0]
    return Route(method, path, name, request, response, summary=summary, **more)


_STREAMED = {"stream": True, "framing": TURN_EVENTS}

AGENTS_API = ApiSpec(
    name="agents",
    description="Llama Stack 0.2 agents: sessions of turns over the agent loop, streamed as turn events.",
    protocol=AgentsProvider,
    routes=(
        _route("POST", "/v1/agents", "create_agent", CreateAgentRequest, AgentCreated),
        _route("GET", "/v1/agents", "list_agents", ListAgentsRequest, AgentList),
        _route("GET", _AGENT, "get_agent", AgentIdRequest, Agent),
        _route("DELETE", _AGENT, "delete_agent", AgentIdRequest, None),
        _route("POST", _AGENT + "/session", "create_session", CreateSessionRequest, SessionCreated),
        _route("GET", _AGENT + "/sessions", "list_sessions", ListSessionsRequest, SessionList),
        _route("GET", _SESSION, "get_session", SessionRequest, Session),
        _route("DELETE", _SESSION, "delete_session", SessionRequest, None),
        _route("POST", _SESSION + "/turn", "create_turn", CreateTurnRequest, Turn, **_STREAMED),
        _route("POST", _TURN + "/resume", "resume_turn", ResumeTurnRequest, Turn, **_STREAMED),
        _route("GET", _TURN, "get_turn", TurnRequest, Turn),
        _route("GET", _TURN + "/step/{step_id}", "get_step", StepRequest, StepResponse),
    ),
)
