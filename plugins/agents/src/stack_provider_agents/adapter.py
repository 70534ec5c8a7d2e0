"""``ResponsesAdapter``: the Responses API over the agent loop.

A request becomes a ``Turn``: the history (the previous responses' or the conversation's, then this input) folded into
chat messages, the tools built into loop tools, ``text.format`` as the response format. The loop's
events go through a ``Renderer``; a streaming request gets its events, another the final response.
A stored response is saved before its last event is sent, so it can be retrieved at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from stack_core import ProviderContext, StackError, paginate
from stack_core.apis.responses import (
    ConversationRef,
    CreateResponseRequest,
    InputItemList,
    Item,
    ListInputItemsRequest,
    ListResponsesRequest,
    McpTool,
    Message,
    Response,
    ResponseDeleted,
    ResponseEvent,
    ResponseIdRequest,
    ResponseList,
)

from .background import Background
from .config import AgentsConfig
from .conversations import conversation_store
from .items import conversation, item_page, new_id, with_ids
from .loop import AgentLoop, LoopDone, Turn
from .mcp_groups import McpGroups
from .render import Renderer
from .store import ResponseStore, Stored
from .tools import ToolFactory, tool_choice


def _response_format(request: CreateResponseRequest) -> dict[str, Any] | None:
    fmt = request.text.format
    if fmt.type == "json_object":
        return {"type": "json_object"}
    if fmt.type == "json_schema":
        schema = {"name": fmt.name or "response", "schema": fmt.schema_ or {}, "strict": fmt.strict}
        return {"type": "json_schema", "json_schema": {k: v for k, v in schema.items() if v is not None}}
    return None


def _params(request: CreateResponseRequest) -> dict[str, Any]:
    params = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_output_tokens,
        "parallel_tool_calls": request.parallel_tool_calls if request.tools else None,
    }
    return {k: v for k, v in params.items() if v is not None}


def _shown(request: CreateResponseRequest, response_id: str) -> Response:
    """The response as it starts: the request's settings, MCP credentials left out."""
    tools = [t.without_credentials() if isinstance(t, McpTool) else t for t in request.tools]
    return Response(
        id=response_id,
        created_at=int(time.time()),
        model=request.model,
        status="in_progress",
        instructions=request.instructions,
        metadata=request.metadata or {},
        parallel_tool_calls=request.parallel_tool_calls,
        previous_response_id=request.previous_response_id,
        conversation=ConversationRef(id=request.conversation_id) if request.conversation_id else None,
        temperature=request.temperature,
        top_p=request.top_p,
        tool_choice=request.tool_choice,
        tools=tools,
        text=request.text,
        max_output_tokens=request.max_output_tokens,
        max_tool_calls=request.max_tool_calls,
        store=request.store,
        user=request.user,
    )


async def create_adapter(config: AgentsConfig, context: ProviderContext) -> ResponsesAdapter:
    """The provider factory: the adapter, its background runner registered with the stack's jobs."""
    adapter = ResponsesAdapter(config, context)
    adapter.background.register()
    return adapter


class ResponsesAdapter:
    def __init__(self, config: AgentsConfig, context: ProviderContext) -> None:
        self.config = config
        self.store = ResponseStore(context.owned_objects("response"))
        self.conversations = conversation_store(context)
        self.loop = AgentLoop(context.inference, lambda: context.safety)
        self.tools = ToolFactory(
            context.resources,
            lambda: context.tool_runtime,
            lambda: context.vector_stores,
            config.web_search_toolgroup,
            McpGroups(context).register,
        )
        self.background = Background(context.jobs, self.store, self._resume, config.background_concurrency)

    async def create_response(
        self, request: CreateResponseRequest
    ) -> Response | AsyncIterator[ResponseEvent]:
        given = (
            [Message(role="user", content=request.input)] if isinstance(request.input, str) else request.input
        )
        stored = Stored(_shown(request, new_id("resp")), with_ids(given))
        if request.background:
            await self._history(request)  # an unknown previous response or conversation is a 404 now
            return await self.background.submit(request, stored)
        renderer, events = await self._turn(request, stored)
        if request.stream:
            return events
        async for _ in events:
            pass
        return renderer.response

    async def _history(self, request: CreateResponseRequest) -> list[Item]:
        if request.previous_response_id is not None:
            return await self.store.history(request.previous_response_id, "previous_response_id")
        if request.conversation_id is not None:
            return await self.conversations.all(request.conversation_id, "conversation")
        return []

    async def _turn(
        self, request: CreateResponseRequest, stored: Stored
    ) -> tuple[Renderer, AsyncIterator[ResponseEvent]]:
        """The turn of ``stored`` (a response and its input items): its renderer, folding the turn
        into ``stored.response``, and its events (the response is stored before the last one)."""
        history = [*await self._history(request), *stored.input]
        box = await self.tools.toolbox(request.tools, history)
        talk = conversation(history, request.instructions)
        shields = tuple(request.guardrails)
        turn = Turn(
            model=request.model,
            messages=talk.messages,
            tools=box.tools,
            pending=talk.pending,
            tool_choice=tool_choice(request.tool_choice) if box.tools else None,
            response_format=_response_format(request),
            params=_params(request),
            max_infer_iters=request.max_infer_iters or self.config.max_infer_iters,
            max_tool_calls=request.max_tool_calls,
            input_shields=shields,
            output_shields=shields,
            stream=request.stream or request.background,
        )
        quiet = not (request.stream or request.background)  # only the final response is read
        renderer = Renderer(stored.response, box.bindings, talk.approved, quiet=quiet)
        return renderer, self._events(request, turn, renderer, box.listings, stored.input)

    async def _resume(
        self, request: CreateResponseRequest, stored: Stored
    ) -> AsyncGenerator[ResponseEvent, None]:
        """A background response's turn (``Background``'s ``Turn``)."""
        _, events = await self._turn(request, stored)
        async for event in events:
            yield event

    async def _events(
        self,
        request: CreateResponseRequest,
        turn: Turn,
        renderer: Renderer,
        listings: list[Any],
        inputs: list[Item],
    ) -> AsyncIterator[ResponseEvent]:
        for event in renderer.start(listings):
            yield event
        try:
            async for step in self.loop.run(turn):
                rendered = renderer.feed(step)
                if isinstance(step, LoopDone):
                    await self._keep(request, renderer.response, inputs)
                for event in rendered:
                    yield event
        except StackError as exc:
            if not (request.stream or request.background):
                raise
            failed = renderer.fail(exc)
            if request.store:
                await self.store.save(Stored(renderer.response, inputs), exists=request.background)
            for event in failed:
                yield event

    async def _keep(self, request: CreateResponseRequest, response: Response, inputs: list[Item]) -> None:
        """Store a finished turn, and append it to its conversation."""
        if request.store:
            await self.store.save(Stored(response, inputs), exists=request.background)
        if request.conversation_id is not None:
            await self.conversations.add(request.conversation_id, [*inputs, *response.output])

    async def cancel_response(self, request: ResponseIdRequest) -> Response:
        return await self.background.cancel(request.response_id)

    async def retrieve_response(self, request: ResponseIdRequest) -> Response:
        return (await self.store.get(request.response_id)).response

    async def delete_response(self, request: ResponseIdRequest) -> ResponseDeleted:
        await self.store.delete(request.response_id)
        return ResponseDeleted(id=request.response_id)

    async def list_responses(self, request: ListResponsesRequest) -> ResponseList:
        every = [r for r in await self.store.responses() if request.model in (None, r.model)]
        page, more = paginate(every, request.order, request.limit, request.after)
        return ResponseList(
            data=page,
            has_more=more,
            first_id=page[0].id if page else None,
            last_id=page[-1].id if page else None,
        )

    async def list_input_items(self, request: ListInputItemsRequest) -> InputItemList:
        items = (await self.store.get(request.response_id)).input
        return InputItemList(**item_page(items, request.order, request.limit, request.after, request.before))
