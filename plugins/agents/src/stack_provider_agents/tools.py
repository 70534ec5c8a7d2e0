"""A Responses request's tools as the agent loop's ``LoopTool``s.

- ``function``: a client tool (no runner): the response ends with its calls.
- ``file_search``: searches the request's vector stores (Vector stores API), merged by score.
- ``mcp``: the tools of the tool group registered for ``server_url`` that the user may use
  (``POST /v1/toolgroups`` with ``mcp_endpoint``), or else of one registered for the user now
  (``McpGroups``), listed and invoked in that group through the Tool Runtime API. ``headers`` and
  ``authorization`` reach the group's provider for this call only, as the ``mcp_headers`` of the
  request's provider data (``{"mcp_headers": {url: {header: value}}}``); they are never stored.
- ``web_search``: the first tool of the ``builtin::websearch`` group (configurable).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from stack_core import (
    BadRequestError,
    NotFoundError,
    ResourceReader,
    Tool,
    ToolCall,
    ToolGroup,
    ToolRuntimeClient,
    VectorStoresClient,
    provider_data,
    provider_data_object,
)
from stack_core.apis.responses import (
    FileSearchResult,
    FileSearchTool,
    FunctionTool,
    Item,
    McpListedTool,
    McpListTools,
    McpTool,
    ToolSpec,
    WebSearchTool,
)

from .items import file_search_text, new_id
from .loop import LoopTool, ToolOutcome

Kind = Literal["function", "file_search", "mcp", "web_search"]
_QUERY = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to search for."}},
    "required": ["query"],
}


@dataclass(frozen=True)
class Binding:
    """Which request tool a loop tool stands for (how its calls are rendered)."""

    kind: Kind
    server_label: str | None = None
    needs_approval: bool = False


@dataclass
class Toolbox:
    tools: list[LoopTool] = field(default_factory=list)
    bindings: dict[str, Binding] = field(default_factory=dict)
    listings: list[McpListTools] = field(default_factory=list)
    """``mcp_list_tools`` items for servers the history has not listed yet."""

    def add(self, tool: LoopTool, binding: Binding) -> None:
        if tool.name in self.bindings:
            raise BadRequestError(f"Two tools are named '{tool.name}'.", param="tools")
        self.tools.append(tool)
        self.bindings[tool.name] = binding


def definition(name: str, description: str | None, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": name,
        "parameters": dict(parameters or {"type": "object", "properties": {}}),
    }
    if description:
        function["description"] = description
    return {"type": "function", "function": function}


def tool_choice(choice: str | Mapping[str, Any]) -> str | dict[str, Any]:
    """A Responses ``tool_choice`` as chat completions takes it."""
    if isinstance(choice, str):
        return choice
    kind, name = choice.get("type"), choice.get("name")
    if kind == "function" or (kind == "mcp" and name):
        return {"type": "function", "function": {"name": name}}
    if kind == "file_search" or str(kind).startswith("web_search"):
        return {
            "type": "function",
            "function": {"name": "file_search" if kind == "file_search" else "web_search"},
        }
    return "required"


def _query(call: ToolCall) -> str:
    args = call.parsed_arguments()
    return str(args.get("query", "")) if isinstance(args, Mapping) else str(args)


@contextmanager
def _mcp_headers(url: str, spec: McpTool) -> Any:
    headers = dict(spec.headers or {})
    if spec.authorization:
        headers["Authorization"] = f"Bearer {spec.authorization}"
    if not headers:
        yield
        return
    data = provider_data_object()
    data.setdefault("mcp_headers", {})[url] = headers
    token = provider_data.set(json.dumps(data))
    try:
        yield
    finally:
        provider_data.reset(token)


class ToolFactory:
    """Builds a request's toolbox over the Tool Runtime and Vector stores APIs (either may be
    absent from the stack; a request using it is then refused)."""

    def __init__(
        self,
        resources: ResourceReader,
        tool_runtime: Callable[[], ToolRuntimeClient],
        vector_stores: Callable[[], VectorStoresClient],
        web_search_group: str,
        register_mcp: Callable[[McpTool], Awaitable[ToolGroup]],
    ) -> None:
        self.resources, self._tool_runtime, self._vector_stores = resources, tool_runtime, vector_stores
        self.web_search_group, self._register_mcp = web_search_group, register_mcp

    async def toolbox(self, specs: Sequence[ToolSpec], history: Sequence[Item]) -> Toolbox:
        box = Toolbox()
        listed = {i.server_label: i for i in history if isinstance(i, McpListTools)}
        for spec in specs:
            if isinstance(spec, FunctionTool):
                box.add(
                    LoopTool(spec.name, definition(spec.name, spec.description, spec.parameters)),
                    Binding("function"),
                )
            elif isinstance(spec, FileSearchTool):
                box.add(self._file_search(spec), Binding("file_search"))
            elif isinstance(spec, WebSearchTool):
                box.add(await self._web_search(), Binding("web_search"))
            else:
                await self._mcp(spec, box, listed.get(spec.server_label))
        return box

    def _file_search(self, spec: FileSearchTool) -> LoopTool:
        stores = self._vector_stores()
        filters = spec.filters.model_dump(exclude_none=True) if spec.filters is not None else None

        async def run(call: ToolCall) -> ToolOutcome:
            query = _query(call)
            pages = await asyncio.gather(
                *(
                    stores.search(s, query, filters=filters, max_num_results=spec.max_num_results)
                    for s in spec.vector_store_ids
                )
            )
            hits = sorted((hit for page in pages for hit in page.data), key=lambda h: -h.score)
            results = [
                FileSearchResult(
                    file_id=h.file_id,
                    filename=h.filename,
                    score=h.score,
                    text="\n".join(c.text for c in h.content),
                    attributes=h.attributes,
                )
                for h in hits[: spec.max_num_results]
            ]
            return ToolOutcome(file_search_text(results), data={"queries": [query], "results": results})

        description = "Search the user's files for passages relevant to a query."
        return LoopTool("file_search", definition("file_search", description, _QUERY), run)

    async def _web_search(self) -> LoopTool:
        group = self.web_search_group
        try:
            tools = await self._tool_runtime().tools(group)
        except NotFoundError:
            raise BadRequestError(
                f"web_search needs the '{group}' tool group; register it (POST /v1/toolgroups).",
                param="tools",
            ) from None
        if not tools:
            raise BadRequestError(f"Tool group '{group}' has no tools.", param="tools")
        name, runtime = tools[0].name, self._tool_runtime()

        async def run(call: ToolCall) -> ToolOutcome:
            reply = await runtime.invoke(name, {"query": _query(call)}, toolgroup_id=group)
            return outcome_of(reply.content, reply.error_message)

        return LoopTool("web_search", definition("web_search", "Search the web.", _QUERY), run)

    async def _group(self, spec: McpTool) -> tuple[ToolGroup, list[McpListedTool]]:
        """The group serving ``spec``'s server that the user may use, registered now if none is."""
        runtime, url = self._tool_runtime(), (spec.server_url or "").rstrip("/")
        for group in self.resources.list("tool_group"):
            if not isinstance(group, ToolGroup) or group.mcp_endpoint is None:
                continue
            if group.mcp_endpoint.uri.rstrip("/") != url:
                continue
            try:
                with _mcp_headers(spec.server_url or "", spec):
                    tools = await runtime.tools(group.identifier)
            except NotFoundError:  # another user's group
                continue
            return group, _listed(spec, tools)
        group = await self._register_mcp(spec)
        with _mcp_headers(spec.server_url or "", spec):
            return group, _listed(spec, await runtime.tools(group.identifier))

    async def _mcp(self, spec: McpTool, box: Toolbox, listing: McpListTools | None) -> None:
        group, tools = await self._group(spec)
        if listing is None:
            box.listings.append(McpListTools(id=new_id("mcpl"), server_label=spec.server_label, tools=tools))
        runtime, url = self._tool_runtime(), spec.server_url or ""

        def runner(name: str) -> Callable[[ToolCall], Any]:
            async def run(call: ToolCall) -> ToolOutcome:
                with _mcp_headers(url, spec):
                    reply = await runtime.invoke(name, call.parsed_arguments(), toolgroup_id=group.identifier)
                return outcome_of(reply.content, reply.error_message)

            return run

        for tool in tools:
            loop_tool = LoopTool(
                tool.name,
                definition(tool.name, tool.description, tool.input_schema),
                runner(tool.name),
                needs_approval=spec.needs_approval(tool.name),
            )
            box.add(loop_tool, Binding("mcp", spec.server_label, loop_tool.needs_approval))


def _listed(spec: McpTool, tools: Sequence[Tool]) -> list[McpListedTool]:
    listed = (
        McpListedTool(name=t.name, input_schema=t.input_schema, description=t.description) for t in tools
    )
    return [t for t in listed if spec.allows(t.name)]


def outcome_of(content: Any, error: str | None) -> ToolOutcome:
    """A tool runtime reply (content or error) as the loop's outcome: text for the model."""
    if error is not None:
        return ToolOutcome(error=error)
    if isinstance(content, str):
        return ToolOutcome(content)
    if isinstance(content, Mapping) and isinstance(content.get("text"), str):
        return ToolOutcome(content["text"])
    if isinstance(content, list):
        texts = [c.get("text") if isinstance(c, Mapping) else c for c in content]
        if all(isinstance(t, str) for t in texts):
            return ToolOutcome("\n".join(texts))  # type: ignore[arg-type]
    return ToolOutcome(json.dumps(content))
