"""The Tool Runtime API's dispatch: tools found through their groups, listed once and cached.

A group's tools are listed by its provider the first time they are needed and kept until the group
changes (unregistered, or registered again with another endpoint, provider or args); for a provider
with ``listing_scope`` (``ToolListingScope``: its servers may show each caller other tools), one
listing per group and scope, the most recently used ``MAX_LISTINGS`` of them. ``invoke``
finds the group that has the tool among the groups the current user may use, listing the ones not
yet listed, and calls that group's provider with a ``ToolInvocation``. A name two groups share goes
to the first group in registration order that has it, unless the call names its group
(``toolgroup_id``) or qualifies the name with it (``builtin::rag/knowledge_search``, the 0.2 line's
notation).

A group whose listing fails is reported where it is named (``GET /v1/tools?toolgroup_id=``, or
an ``invoke`` that finds the tool nowhere else) and left out, with a warning in the log, of the
listing of every group, so one broken MCP server does not hide the others' tools.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .apis.resources import TOOL_GROUPS
from .apis.tool_runtime import (
    InsertDocumentsRequest,
    InvokeToolRequest,
    ListRuntimeToolsRequest,
    ListToolsRequest,
    RagQueryRequest,
    RagQueryResult,
    RagToolRuntime,
    Tool,
    ToolDef,
    ToolInvocation,
    ToolInvocationResult,
    ToolListingScope,
    ToolRequest,
)
from .calls import Handler
from .capabilities import bound
from .context import routed_resource
from .errors import (
    BadRequestError,
    NotFoundError,
    PluginError,
    ProviderReplyError,
    ProviderUnavailableError,
    StackError,
)
from .registries import checked, visible
from .resources import ToolGroup
from .routing import ApiBinding
from .spec import Route

__all__ = ["ToolRuntimeRouter"]

log = logging.getLogger("stack")

RAG_GROUP = "builtin::rag"
MAX_LISTINGS = 4096


@dataclass(frozen=True)
class _Listing:
    """A group's tools as listed for one version of the group."""

    fingerprint: str
    tools: Mapping[str, ToolDef]


def _fingerprint(group: ToolGroup) -> str:
    return group.model_dump_json(exclude={"owner"})


class ToolRuntimeRouter:
    """Dispatch of the Tool Runtime API (``ApiSpec.router``)."""

    def __init__(self, binding: ApiBinding) -> None:
        self.binding, self.view = binding, binding.view
        routes = {route.name: route for route in binding.spec.routes}
        self._list = self._per_provider(routes["list_runtime_tools"])
        self._invoke = self._per_provider(routes["invoke_tool"])
        rag = [pid for pid, impl in binding.providers.items() if isinstance(impl, RagToolRuntime)]
        self._rag_insert = {pid: binding.provider_handler(pid, routes["rag_tool_insert"]) for pid in rag}
        self._rag_query = {pid: binding.provider_handler(pid, routes["rag_tool_query"]) for pid in rag}
        self._scopes = {pid: bound(impl, ToolListingScope) for pid, impl in binding.providers.items()}
        self._listings: OrderedDict[tuple[str, str], _Listing] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    def _per_provider(self, route: Route) -> dict[str, Handler]:
        return {pid: self.binding.provider_handler(pid, route, routed=True) for pid in self.binding.providers}

    def handler(self, route: Route) -> Handler:
        handlers: dict[str, Handler] = {
            "list_tools": self.list_tools,
            "get_tool": self.get_tool,
            "list_runtime_tools": self.list_runtime_tools,
            "invoke_tool": self.invoke_tool,
            "rag_tool_insert": self.rag_tool_insert,
            "rag_tool_query": self.rag_tool_query,
        }
        found = handlers.get(route.name)
        if found is None:
            raise PluginError(f"the tool runtime router has no handler for route {route.name!r}")
        return found

    # -- groups and their tools ----------------------------------------------------------------

    def _groups(self) -> list[ToolGroup]:
        return [g for g in visible(self.view, TOOL_GROUPS) if isinstance(g, ToolGroup)]

    async def _group(self, identifier: str, param: str) -> ToolGroup:
        found = self.view.registry.get(TOOL_GROUPS.type, identifier) or await self.view.registry.lookup(
            TOOL_GROUPS.type, identifier
        )
        return self._usable(found, identifier, param)

    def _group_of(self, identifier: str) -> str:
        """The group a listing names: a registered group, or the group of a qualified tool name
        (``builtin::rag/knowledge_search``, as the 0.2 ``Agent`` lists its toolgroups)."""
        group_id, registry = identifier.rpartition("/")[0], self.view.registry
        qualified = group_id and registry.get(TOOL_GROUPS.type, identifier) is None
        return group_id if qualified and registry.get(TOOL_GROUPS.type, group_id) is not None else identifier

    def _usable(self, group: Any, identifier: str | None = None, param: str = "tool_name") -> ToolGroup:
        """``group`` if the current user may use it (404 if they cannot see it, 403 if only that)."""
        name = identifier or (group.identifier if group is not None else "")
        found = checked(self.view, TOOL_GROUPS, group, name, "use", param)
        if not isinstance(found, ToolGroup):
            raise ProviderReplyError(f"registry entry '{name}' is not a tool group")
        return found

    def _key(self, group: ToolGroup) -> tuple[str, str]:
        """Where the group's listing for the current caller is cached."""
        scope = self._scopes.get(group.provider_id)
        return group.identifier, scope(group) if scope is not None else ""

    async def _tools(self, group: ToolGroup) -> Mapping[str, ToolDef]:
        """The group's tools, listed by its provider unless listed for this version of the group
        (and this caller's scope)."""
        cached = self._cached(group)
        if cached is not None:
            return cached
        key, fingerprint = self._key(group), _fingerprint(group)
        async with self._locks.setdefault(group.identifier, asyncio.Lock()):
            listing = self._listings.get(key)
            if listing is None or listing.fingerprint != fingerprint:
                listing = _Listing(fingerprint, await self._list_group(group))
                self._listings[key] = listing
                while len(self._listings) > MAX_LISTINGS:
                    self._listings.popitem(last=False)
        return listing.tools

    async def _list_group(self, group: ToolGroup) -> dict[str, ToolDef]:
        method = self._list.get(group.provider_id)
        if method is None:
            raise self._not_running(group)
        token = routed_resource.set(group)
        try:
            listed = await method(group)
        finally:
            routed_resource.reset(token)
        try:
            tools = [t if isinstance(t, ToolDef) else ToolDef.model_validate(t) for t in listed]
        except Exception as exc:
            raise ProviderReplyError(
                f"Provider '{group.provider_id}' listed malformed tools for group '{group.identifier}': {exc}",
                provider_id=group.provider_id,
            ) from None
        return {tool.name: tool for tool in tools}

    def _not_running(self, group: ToolGroup) -> StackError:
        return ProviderUnavailableError(
            f"Provider '{group.provider_id}' serving tool group '{group.identifier}' is not running.",
            provider_id=group.provider_id,
        )

    async def _all_tools(self, groups: Sequence[ToolGroup]) -> list[tuple[ToolGroup, Mapping[str, ToolDef]]]:
        """Each group's tools; a group whose listing fails is logged and left out."""
        results = await asyncio.gather(*(self._tools(g) for g in groups), return_exceptions=True)
        listed: list[tuple[ToolGroup, Mapping[str, ToolDef]]] = []
        for group, result in zip(groups, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                log.warning("tool group %s: listing its tools failed: %s", group.identifier, result)
                continue
            listed.append((group, result))
        return listed

    def _cached(self, group: ToolGroup) -> Mapping[str, ToolDef] | None:
        key = self._key(group)
        listing = self._listings.get(key)
        if listing is None or listing.fingerprint != _fingerprint(group):
            return None
        self._listings.move_to_end(key)
        return listing.tools

    async def _find(self, tool_name: str) -> tuple[ToolGroup, ToolDef]:
        """The first group (in registration order) the current user may use that has the tool; a
        name qualified by its group (``builtin::rag/knowledge_search``) names the group itself."""
        group_id, _, short = tool_name.rpartition("/")
        if group_id and self.view.registry.get(TOOL_GROUPS.type, group_id) is not None:
            group = await self._group(group_id, "tool_name")
            tools = await self._tools(group)
            if short in tools:
                return group, tools[short]
        groups = self._groups()
        for group in groups:
            cached = self._cached(group)
            if cached is not None and tool_name in cached:
                return self._usable(group), cached[tool_name]
        results = await asyncio.gather(*(self._tools(g) for g in groups), return_exceptions=True)
        failures: list[tuple[ToolGroup, Exception]] = []
        for group, result in zip(groups, results, strict=True):
            if isinstance(result, Exception):
                failures.append((group, result))
            elif isinstance(result, BaseException):
                raise result
            elif tool_name in result:
                return self._usable(group), result[tool_name]
        if failures:
            group, exc = failures[0]
            if isinstance(exc, StackError):
                raise exc
            raise ProviderReplyError(
                f"Tool group '{group.identifier}' could not be listed: {exc}", provider_id=group.provider_id
            ) from exc
        names = sorted({name for tools in results if isinstance(tools, Mapping) for name in tools})
        raise NotFoundError(
            f"Tool '{tool_name}' not found. Tools of your tool groups: {', '.join(names[:30]) or 'none'}. "
            "Register the group that provides it with POST /v1/toolgroups.",
            param="tool_name",
            code="tool_not_found",
        )

    # -- routes --------------------------------------------------------------------------------

    async def list_tools(self, request: ListToolsRequest) -> dict[str, Any]:
        if request.toolgroup_id is not None:
            group = await self._group(self._group_of(request.toolgroup_id), "toolgroup_id")
            listed = [(group, await self._tools(group))]
        else:
            listed = await self._all_tools(self._groups())
        return {"data": [Tool.of(tool, group) for group, tools in listed for tool in tools.values()]}

    async def get_tool(self, request: ToolRequest) -> Tool:
        group, tool = await self._find(request.tool_name)
        return Tool.of(tool, group)

    async def list_runtime_tools(self, request: ListRuntimeToolsRequest) -> dict[str, Any]:
        if request.tool_group_id is None:
            raise BadRequestError(
                "tool_group_id is required: name a registered tool group (GET /v1/toolgroups).",
                param="tool_group_id",
            )
        group = await self._group(request.tool_group_id, "tool_group_id")
        endpoint = request.endpoint()
        registered = group.mcp_endpoint.uri if group.mcp_endpoint is not None else None
        if endpoint is not None and endpoint != registered:
            raise BadRequestError(
                f"mcp_endpoint {endpoint} is not the endpoint tool group '{group.identifier}' is registered "
                f"with ({registered or 'none'}); register a group for it with POST /v1/toolgroups.",
                param="mcp_endpoint",
            )
        return {"data": list((await self._tools(group)).values())}

    async def invoke_tool(self, request: InvokeToolRequest) -> Any:
        if request.toolgroup_id is None:
            group, tool = await self._find(request.tool_name)
        else:
            group = await self._group(request.toolgroup_id, "toolgroup_id")
            found = (await self._tools(group)).get(request.tool_name)
            if found is None:
                raise NotFoundError(
                    f"Tool group '{group.identifier}' has no tool '{request.tool_name}'.",
                    param="tool_name",
                    code="tool_not_found",
                )
            tool = found
        method = self._invoke.get(group.provider_id)
        if method is None:
            raise self._not_running(group)
        token = routed_resource.set(group)
        try:
            reply = await method(ToolInvocation(group, tool.name, request.kwargs))
        finally:
            routed_resource.reset(token)
        return (
            reply if isinstance(reply, ToolInvocationResult) else ToolInvocationResult.model_validate(reply)
        )

    def _rag_provider(self, methods: Mapping[str, Handler]) -> Handler:
        group = self.view.registry.get(TOOL_GROUPS.type, RAG_GROUP)
        if group is not None and group.provider_id in methods:
            return methods[group.provider_id]
        if len(methods) == 1:
            return next(iter(methods.values()))
        if not methods:
            raise NotFoundError(
                "No RAG tool runtime is configured; add an inline::rag-runtime provider under "
                "providers.tool_runtime.",
                code="rag_tool_not_configured",
            )
        raise BadRequestError(
            f"Several RAG tool runtimes are configured ({', '.join(sorted(methods))}) and no "
            f"'{RAG_GROUP}' tool group names one; register it with the provider_id to use."
        )

    async def rag_tool_insert(self, request: InsertDocumentsRequest) -> None:
        await self._rag_provider(self._rag_insert)(request)

    async def rag_tool_query(self, request: RagQueryRequest) -> RagQueryResult:
        reply = await self._rag_provider(self._rag_query)(request)
        return reply if isinstance(reply, RagQueryResult) else RagQueryResult.model_validate(reply)
