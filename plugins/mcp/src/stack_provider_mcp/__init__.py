"""``remote::model-context-protocol``: the tools of MCP servers (SSE and streamable HTTP) as tool
groups ``mcp::<name>``, over sessions kept open per endpoint and user."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="tool_runtime",
        provider_type="remote::model-context-protocol",
        config="stack_provider_mcp.config:McpConfig",
        factory="stack_provider_mcp.adapter:create_provider",
        enable_env="MCP_TOOL_RUNTIME",
        description="Tools of MCP servers (SSE, streamable HTTP); groups registered with mcp_endpoint.",
    )
