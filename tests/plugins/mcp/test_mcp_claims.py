"""remote::model-context-protocol claims the tool groups that name an MCP server, so a group
registered with no provider_id (or by the Responses API's ``mcp`` tool) goes to it."""

from __future__ import annotations

from stack_provider_mcp.adapter import McpToolRuntime
from stack_provider_mcp.config import McpConfig

from stack_core import McpEndpoint, ToolGroup, ToolGroupClaimer


def test_claims_the_groups_with_an_mcp_endpoint() -> None:
    runtime = McpToolRuntime(McpConfig(), "mcp")
    assert isinstance(runtime, ToolGroupClaimer)
    endpoint = McpEndpoint(uri="http://tools.test/mcp")
    assert runtime.claims_tool_group(ToolGroup(identifier="mcp::a", provider_id="mcp", mcp_endpoint=endpoint))
    assert not runtime.claims_tool_group(ToolGroup(identifier="builtin::websearch", provider_id="mcp"))
