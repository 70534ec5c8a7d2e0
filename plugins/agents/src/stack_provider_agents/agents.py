"""``AgentsAdapter``: the 0.2 Agents API over the agent loop.

A turn is a loop ``Turn``: the session's conversation so far (the last completed turn's messages,
the agent's instructions first), the new messages (documents as context of the last user
message, read by the documents kit: text, a ``data:`` URI, an http(s) URL fetched within
``url_fetch``'s limits, or a file id), the agent's tools and the turn's, its sampling parameters
and shields. A ``TurnRenderer`` makes the loop's events turn events; the turn is saved before its
last event is sent. A turn that stopped at client tool calls is resumed with the caller's
responses: they are appended as tool messages and make a ``tool_execution`` step, and the loop
goes on (input shields already ran).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stack_core import (
    BadRequestError,
    NotFoundError,
    ProviderContext,
    ToolRuntimeClient,
    content_text,
    native_sampling_options,
    native_to_openai_messages,
    native_tool_choice,
)
from stack_core.apis.agents import (
    Agent,
    AgentCreated,
    AgentIdRequest,
    AgentList,
    CreateAgentRequest,
    CreateSessionRequest,
    CreateTurnRequest,
    Document,
    ListAgentsRequest,
    ListSessionsRequest,
    ResumeTurnRequest,
    Session,
    SessionCreated,
    SessionList,
    SessionRequest,
    StepRequest,
    StepResponse,
    Turn,
    TurnEvent,
    TurnPayload,
    TurnRequest,
)
from stack_core.apis.inference_native import (
    CompletionMessage,
    SamplingParams,
    TextItem,
    ToolResponseMessage,
    UserMessage,
)
from stack_core.kits.documents import DocumentReader
from stack_core.kits.fetch import UrlFetcher

from .agent_tools import agent_tools
from .config import MetaReferenceConfig
from .loop import AgentLoop, LoopDone, Message
from .loop import Turn as LoopTurn
from .sessions import AgentStore, TurnRecord
from .turns import TurnRenderer, client_step

InputMessage = UserMessage | ToolResponseMessage


def _id() -> str:
    return str(uuid.uuid4())


def _page(items: list[Any], request: ListAgentsRequest | ListSessionsRequest) -> tuple[list[Any], bool]:
    start = request.start_index or 0
    end = start + request.limit if request.limit is not None else len(items)
    return items[start:end], end < len(items)


def _json(content: Any) -> Any:
    items = content if isinstance(content, list) else [content]
    return [item.model_dump(mode="json") for item in items]


@dataclass(frozen=True)
class _Numbered:
    """A turn's document as the documents kit reads it, named by its place in the turn."""

    document_id: str
    content: Any
    mime_type: str | None


async def _with_documents(
    messages: Sequence[InputMessage], documents: Sequence[Document], reader: DocumentReader
) -> list[InputMessage]:
    """The messages, the documents' text added to the context of the last user message."""
    found = list(messages)
    users = [i for i, m in enumerate(found) if isinstance(m, UserMessage)]
    if not documents:
        return found
    if not users:
        raise BadRequestError("Documents need a user message to go with.", param="documents")
    numbered = [_Numbered(f"#{n}", _plain(d.content), d.mime_type) for n, d in enumerate(documents, 1)]
    texts = await asyncio.gather(*(reader.text(d) for d in numbered))
    last = found[users[-1]]
    assert isinstance(last, UserMessage)
    context = [TextItem(text=content_text(_json(last.context)))] if last.context is not None else []
    context += [TextItem(text=text) for text in texts]
    found[users[-1]] = last.model_copy(update={"context": context})
    return found


def _plain(content: Any) -> Any:
    """Content items as the documents kit reads them (their JSON); text and URIs as they are."""
    return content if isinstance(content, str | dict) else _json(content)


class AgentsAdapter:
    def __init__(self, config: MetaReferenceConfig, context: ProviderContext) -> None:
        self.config, self.context = config, context
        self.store = AgentStore(
            context.owned_objects("agent"),
            context.owned_objects("agent_session"),
            context.owned_objects("agent_turn"),
        )
        self.loop = AgentLoop(context.inference, lambda: context.safety)
        files = context.files if "files" in context.deps else None
        self.reader = DocumentReader(UrlFetcher(config.url_fetch), files)

    def _tool_runtime(self) -> ToolRuntimeClient | None:
        return self.context.tool_runtime if "tool_runtime" in self.context.deps else None

    # -- agents and sessions ---------------------------------------------------------------------

    async def create_agent(self, request: CreateAgentRequest) -> AgentCreated:
        agent_id = _id()
        await self.store.create_agent(agent_id, request.agent_config)
        return AgentCreated(agent_id=agent_id)

    async def list_agents(self, request: ListAgentsRequest) -> AgentList:
        page, more = _page(await self.store.agents(), request)
        return AgentList(data=page, has_more=more)

    async def get_agent(self, request: AgentIdRequest) -> Agent:
        return await self.store.agent(request.agent_id)

    async def delete_agent(self, request: AgentIdRequest) -> None:
        await self.store.delete_agent(request.agent_id)

    async def create_session(self, request: CreateSessionRequest) -> SessionCreated:
        session_id = _id()
        await self.store.create_session(request.agent_id, session_id, request.session_name)
        return SessionCreated(session_id=session_id)

    async def list_sessions(self, request: ListSessionsRequest) -> SessionList:
        await self.store.agent(request.agent_id)
        page, more = _page(await self.store.sessions(request.agent_id), request)
        return SessionList(data=[await self._with_turns(s) for s in page], has_more=more)

    async def _with_turns(self, session: Session, turn_ids: Sequence[str] | None = None) -> Session:
        turns = [r.turn for r in await self.store.turns(session.session_id)]
        wanted = [t for t in turns if turn_ids is None or t.turn_id in turn_ids]
        return session.model_copy(update={"turns": wanted})

    async def get_session(self, request: SessionRequest) -> Session:
        session = await self.store.session(request.agent_id, request.session_id)
        return await self._with_turns(session, request.turn_ids)

    async def delete_session(self, request: SessionRequest) -> None:
        await self.store.delete_session(request.agent_id, request.session_id)

    async def get_turn(self, request: TurnRequest) -> Turn:
        await self.store.session(request.agent_id, request.session_id)
        return (await self.store.turn(request.session_id, request.turn_id)).turn

    async def get_step(self, request: StepRequest) -> StepResponse:
        turn = await self.get_turn(request)
        step = next((s for s in turn.steps if s.step_id == request.step_id), None)
        if step is None:
            raise NotFoundError(f"Turn '{turn.turn_id}' has no step '{request.step_id}'.", param="step_id")
        return StepResponse(step=step)

    # -- turns ----------------------------------------------------------------------------------

    async def create_turn(self, request: CreateTurnRequest) -> Turn | AsyncIterator[TurnEvent]:
        agent = await self.store.agent(request.agent_id)
        await self.store.session(request.agent_id, request.session_id)
        done = [r for r in await self.store.turns(request.session_id) if r.turn.completed_at is not None]
        instructions: list[Message] = [{"role": "system", "content": agent.agent_config.instructions}]
        history = done[-1].messages if done else instructions
        given = await _with_documents(request.messages, request.documents, self.reader)
        messages = [*history, *native_to_openai_messages(given, "messages")]
        turn = Turn(
            turn_id=_id(),
            session_id=request.session_id,
            input_messages=list(request.messages),
            steps=[],
            output_message=CompletionMessage(content=""),
            started_at=datetime.now(UTC),
        )
        record = TurnRecord(turn, [], list(request.toolgroups), request.tool_config)
        loop_turn = await self._loop_turn(agent, record, messages, resumed=False)
        renderer = TurnRenderer(turn)
        events = self._events(renderer, record, loop_turn, renderer.start(), exists=False)
        return events if request.stream else await _final(events, renderer)

    async def resume_turn(self, request: ResumeTurnRequest) -> Turn | AsyncIterator[TurnEvent]:
        agent = await self.store.agent(request.agent_id)
        await self.store.session(request.agent_id, request.session_id)
        record = await self.store.turn(request.session_id, request.turn_id)
        pending = record.turn.output_message.tool_calls
        if record.turn.completed_at is not None or not pending:
            raise BadRequestError(
                f"Turn '{request.turn_id}' is not awaiting tool responses.", param="turn_id"
            )
        answers = {r.call_id: r for r in request.tool_responses}
        if missing := [c.call_id for c in pending if c.call_id not in answers]:
            raise BadRequestError(f"No tool response for the calls {missing}.", param="tool_responses")
        responses = [answers[c.call_id] for c in pending]
        tool_messages: list[Message] = [
            {
                "role": "tool",
                "tool_call_id": r.call_id,
                "content": content_text(r.model_dump(mode="json")["content"]),
            }
            for r in responses
        ]
        step = client_step(record.turn.turn_id, _id(), pending, responses, time.time())
        loop_turn = await self._loop_turn(agent, record, [*record.messages, *tool_messages], resumed=True)
        renderer = TurnRenderer(record.turn)
        events = self._events(renderer, record, loop_turn, renderer.steps(step), exists=True)
        return events if request.stream else await _final(events, renderer)

    async def _loop_turn(
        self, agent: Agent, record: TurnRecord, messages: list[Message], *, resumed: bool
    ) -> LoopTurn:
        config = agent.agent_config
        groups = [*config.toolgroups, *record.toolgroups]
        tools = await agent_tools(self._tool_runtime() if groups else None, groups, config.client_tools)
        tool_config = record.tool_config or config.tool_config
        choice = (tool_config.tool_choice if tool_config else None) or config.tool_choice
        params = native_sampling_options(config.sampling_params or SamplingParams(), config.response_format)
        response_format = params.pop("response_format", None)
        return LoopTurn(
            model=config.model,
            messages=messages,
            tools=tools,
            tool_choice=native_tool_choice(choice) if tools and choice else None,
            response_format=response_format,
            params={k: v for k, v in params.items() if v is not None},
            max_infer_iters=config.max_infer_iters or self.config.max_infer_iters,
            input_shields=() if resumed else tuple(config.input_shields),
            output_shields=tuple(config.output_shields),
        )

    async def _events(
        self,
        renderer: TurnRenderer,
        record: TurnRecord,
        turn: LoopTurn,
        prelude: list[TurnPayload],
        *,
        exists: bool,
    ) -> AsyncIterator[TurnEvent]:
        for payload in prelude:
            yield TurnEvent.of(payload)
        async for event in self.loop.run(turn):
            payloads = renderer.feed(event)
            if isinstance(event, LoopDone):
                result = event.result
                answer: list[Message] = (
                    [] if result.pending else [{"role": "assistant", "content": result.text}]
                )
                record.messages = [*result.messages, *answer]
                await self.store.save_turn(record, exists=exists)
            for payload in payloads:
                yield TurnEvent.of(payload)


async def _final(events: AsyncIterator[TurnEvent], renderer: TurnRenderer) -> Turn:
    async for _ in events:
        pass
    return renderer.turn
