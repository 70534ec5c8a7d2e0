"""``test::tools``: a tool runtime whose groups list scripted tools, counting its listings and
calls, for the kernel's tool router tests (no network)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from pydantic import BaseModel

from stack_core import (
    ProviderContext,
    ProviderError,
    RegisterProvider,
    ToolDef,
    ToolGroup,
    ToolInvocation,
    ToolInvocationResult,
    hookimpl,
)

NESTED = {
    "type": "object",
    "properties": {
        "point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "shape": {"$ref": "#/$defs/Shape"},
    },
    "required": ["point"],
    "$defs": {"Shape": {"type": "string", "enum": ["circle", "square"]}},
}
TOOLS = {
    "echo": ToolDef(
        name="echo",
        description="Echo the text.",
        input_schema={
            "type": "object",
            "properties": {"text": {"type": "string", "description": "What to echo."}},
            "required": ["text"],
        },
    ),
    "describe": ToolDef(name="describe", description="Describe a point.", input_schema=NESTED),
    "now": ToolDef(
        name="now", description="No arguments.", input_schema={"type": "object", "properties": {}}
    ),
    "fail": ToolDef(name="fail", description="Always fails."),
}


class ToolsConfig(BaseModel):
    pass


class ScriptedTools:
    """Group args: ``tools`` (names of ``TOOLS`` the group has), ``broken`` (listing fails),
    ``delay`` (seconds each call takes: a number, or a number per tool name)."""

    def __init__(self, config: ToolsConfig, context: ProviderContext) -> None:
        self.listings: Counter[str] = Counter()
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def list_tool_groups(self) -> list[dict[str, Any]]:
        return [{"identifier": "builtin::scripted", "args": {"tools": ["now"]}}]

    async def list_runtime_tools(self, group: ToolGroup) -> list[ToolDef]:
        self.listings[group.identifier] += 1
        args = group.args or {}
        if args.get("broken"):
            raise ProviderError(f"group {group.identifier} is broken", provider_id=group.provider_id)
        return [TOOLS[name] for name in args.get("tools", list(TOOLS))]

    async def invoke_tool(self, call: ToolInvocation) -> ToolInvocationResult:
        self.calls.append((call.group.identifier, call.tool_name, dict(call.kwargs)))
        delay = (call.group.args or {}).get("delay") or 0
        await asyncio.sleep(float(delay.get(call.tool_name, 0) if isinstance(delay, dict) else delay))
        if call.tool_name == "fail":
            return ToolInvocationResult(error_message="the tool failed", error_code=1)
        return ToolInvocationResult(content=f"{call.group.identifier}:{call.tool_name}:{dict(call.kwargs)}")


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="tool_runtime",
        provider_type="test::tools",
        config=ToolsConfig,
        factory=ScriptedTools,
        description="Scripted tools for the kernel's tests.",
    )
