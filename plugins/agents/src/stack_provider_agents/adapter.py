"""``ResponsesAdapter``: the Responses API over the agent loop.

A request becomes a ``Turn``: the history (the previous response's, then this input) folded into
chat messages, the tools built into loop tools, ``text.format`` as the response format. The loop's
events go through a ``Renderer``; a streaming request gets its events, another the final response.
A stored response is saved before its last event is sent, so it can be retrieved at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from stack_core import ProviderContext, StackError, UnsupportedError, paginate
from stack_core.apis.responses import (
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

from .config import AgentsConfig
from .items import conversation, new_id, with_ids
from .loop import AgentLoop, LoopDone, Turn
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
    tools = [
        t.model_copy(update={"headers": None, "authorization": None}) if isinstance(t, McpTool) else t
        for t in request.tools
    ]
    return Response(
        id=response_id,
        created_at=int(time.time()),
        model=request.model,
        status="in_progress",
        instructions=request.instructions,
        metadata=request.metadata or {},
        parallel_tool_calls=request.parallel_tool_calls,
        previous_response_id=request.previous_response_id,
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


class ResponsesAdapter:
    def __init__(self, config: AgentsConfig, context: ProviderContext) -> None:
        self.config = config
        self.store = ResponseStore(context.owned_objects("response"))
        self.loop = AgentLoop(context.inference, lambda: context.safety)
        self.tools = ToolFactory(
            context.resources,
            lambda: context.tool_runtime,
            lambda: context.vector_stores,
            config.web_search_toolgroup,
        )

    async def create_response(
        self, request: CreateResponseRequest
    ) -> Response | AsyncIterator[ResponseEvent]:
        if request.background:
            raise UnsupportedError("background responses are not supported yet.", param="background")
        previous = await self._previous(request)
        given = (
            [Message(role="user", content=request.input)] if isinstance(request.input, str) else request.input
        )
        inputs = with_ids(given)
        history = [*previous, *inputs]
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
        )
        renderer = Renderer(_shown(request, new_id("resp")), box.bindings, talk.approved)
        events = self._events(request, turn, renderer, box.listings, inputs, history)
        if request.stream:
            return events
        async for _ in events:
            pass
        return renderer.response

    async def _previous(self, request: CreateResponseRequest) -> list[Item]:
        if request.previous_response_id is None:
            return []
        return (await self.store.get(request.previous_response_id, "previous_response_id")).history

    async def _events(
        self,
        request: CreateResponseRequest,
        turn: Turn,
        renderer: Renderer,
        listings: list[Any],
        inputs: list[Item],
        history: list[Item],
    ) -> AsyncIterator[ResponseEvent]:
        for event in renderer.start(listings):
            yield event
        try:
            async for step in self.loop.run(turn):
                rendered = renderer.feed(step)
                if isinstance(step, LoopDone) and request.store:
                    await self._save(renderer.response, inputs, history)
                for event in rendered:
                    yield event
        except StackError as exc:
            if not request.stream:
                raise
            failed = renderer.fail(exc)
            if request.store:
                await self._save(renderer.response, inputs, history)
            for event in failed:
                yield event

    async def _save(self, response: Response, inputs: list[Item], history: list[Item]) -> None:
        await self.store.save(Stored(response, inputs, [*history, *response.output]))

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
        rows = [_Row(i.id or "", i) for i in (await self.store.get(request.response_id)).input]
        page, more = paginate(rows, request.order, request.limit, request.after, request.before)
        return InputItemList(
            data=[row.item for row in page],
            has_more=more,
            first_id=page[0].id if page else None,
            last_id=page[-1].id if page else None,
        )


@dataclass(frozen=True)
class _Row:
    id: str
    item: Item
