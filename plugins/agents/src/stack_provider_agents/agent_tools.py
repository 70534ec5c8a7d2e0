"""An agent's tools (the 0.2 ``AgentConfig``'s) as the agent loop's ``LoopTool``s.

- ``client_tools``: run by the caller (no runner): the turn waits for their responses.
- ``toolgroups``: a group (``builtin::rag``: all its tools) or one tool of it
  (``builtin::rag/knowledge_search``), invoked in that group through the Tool Runtime API with the
  entry's ``args`` merged over the model's arguments (``{"vector_db_ids": [...]}`` per agent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stack_core import BadRequestError, Tool, ToolCall, ToolRuntimeClient
from stack_core.apis.agents import ClientTool, Toolgroup
from stack_core.apis.tool_runtime import parameters_schema

from .loop import LoopTool, ToolOutcome, ToolRunner
from .tools import definition, outcome_of


def _runner(runtime: ToolRuntimeClient, tool: Tool, args: Mapping[str, Any]) -> ToolRunner:
    async def run(call: ToolCall) -> ToolOutcome:
        given = call.parsed_arguments()
        kwargs = {**(given if isinstance(given, Mapping) else {}), **args}
        reply = await runtime.invoke(tool.name, kwargs, toolgroup_id=tool.toolgroup_id)
        return outcome_of(reply.content, reply.error_message)

    return run


async def _group_tools(runtime: ToolRuntimeClient, name: str, args: Mapping[str, Any]) -> list[LoopTool]:
    listed = await runtime.tools(name)  # a qualified tool name lists its group
    chosen = [t for t in listed if name in (t.toolgroup_id, f"{t.toolgroup_id}/{t.name}")]
    if not chosen:
        raise BadRequestError(f"Tool group '{name}' has no such tool.", param="toolgroups")
    return [
        LoopTool(t.name, definition(t.name, t.description, t.input_schema), _runner(runtime, t, args))
        for t in chosen
    ]


async def agent_tools(
    runtime: ToolRuntimeClient | None, toolgroups: Sequence[Toolgroup], client_tools: Sequence[ClientTool]
) -> list[LoopTool]:
    """The loop tools of an agent's tool groups and client tools (``runtime``: the stack's Tool
    Runtime API, ``None`` where it serves none)."""
    tools = [
        LoopTool(c.name, definition(c.name, c.description, parameters_schema(c.parameters)))
        for c in client_tools
    ]
    for entry in toolgroups:
        name, args = (entry, {}) if isinstance(entry, str) else (entry.name, entry.args)
        if runtime is None:
            raise BadRequestError(
                f"Tool group '{name}' needs the Tool Runtime API, which this stack does not serve.",
                param="toolgroups",
            )
        tools.extend(await _group_tools(runtime, name, args))
    names = [t.name for t in tools]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise BadRequestError(f"Several tools are named {twice}.", param="toolgroups")
    return tools
