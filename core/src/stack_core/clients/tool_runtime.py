"""``ToolRuntimeClient``: the tools of registered groups, invoked in-process (agents, Responses)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..apis.tool_runtime import (
    InvokeToolRequest,
    ListToolsRequest,
    ListToolsResponse,
    RagQueryConfig,
    RagQueryRequest,
    RagQueryResult,
    Tool,
    ToolInvocationResult,
)
from ..calls import ApiHandle
from .decode import build_request, decode_model

__all__ = ["ToolRuntimeClient"]


class ToolRuntimeClient:
    """Tools over ``api``, the object serving the Tool Runtime API (``context.deps["tool_runtime"]``),
    with the current user's access rules."""

    def __init__(self, api: ApiHandle) -> None:
        self._list = api.handler("list_tools")
        self._invoke = api.handler("invoke_tool")
        self._query = api.handler("rag_tool_query")

    async def tools(self, toolgroup_id: str | None = None) -> list[Tool]:
        """The tools of one group, or of every group the user can see, with their input schemas."""
        reply = await self._list(build_request(ListToolsRequest, {"toolgroup_id": toolgroup_id}))
        return decode_model(reply, ListToolsResponse).data

    async def invoke(
        self, tool_name: str, kwargs: Mapping[str, Any] | None = None, *, toolgroup_id: str | None = None
    ) -> ToolInvocationResult:
        """Run a tool (of group ``toolgroup_id``, else of the first group that has it); a failure of
        the tool itself is a result with ``error_message``."""
        fields = {"tool_name": tool_name, "kwargs": dict(kwargs or {}), "toolgroup_id": toolgroup_id}
        request = build_request(InvokeToolRequest, fields)
        return decode_model(await self._invoke(request), ToolInvocationResult)

    async def rag_query(
        self, content: str | Sequence[Any], vector_db_ids: Sequence[str], config: RagQueryConfig | None = None
    ) -> RagQueryResult:
        """Context for ``content`` retrieved from the vector DBs, framed for a model to cite."""
        fields = {"content": content, "vector_db_ids": list(vector_db_ids), "query_config": config}
        return decode_model(await self._query(build_request(RagQueryRequest, fields)), RagQueryResult)
