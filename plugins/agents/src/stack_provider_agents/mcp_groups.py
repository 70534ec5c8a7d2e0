"""The tool group of an ``mcp`` tool's server, registered on first use.

OpenAI's ``mcp`` tool names its server and needs nothing registered beforehand. When no tool group
the user may use has the tool's ``server_url``, one is registered as that user (who then owns it;
others don't see it) with the tool runtime provider that claims MCP groups, under an id
deterministic in label, URL and user (``mcp::<label>-<hash>``), so later requests reuse it. Only
the URL is stored: headers and authorization travel with each call.
"""

from __future__ import annotations

import hashlib
import re
from typing import cast

from stack_core import (
    BadRequestError,
    McpEndpoint,
    ProviderContext,
    ToolGroup,
    ToolGroupClaimer,
    current_user,
)
from stack_core.apis.responses import McpTool

_PROBE = ToolGroup(identifier="mcp::probe", provider_id="", mcp_endpoint=McpEndpoint(uri="http://probe"))


def group_id(label: str, url: str, principal: str | None) -> str:
    digest = hashlib.sha256(f"{url}\n{principal or ''}".encode()).hexdigest()[:12]
    return f"mcp::{re.sub(r'[^A-Za-z0-9_.-]', '_', label)[:64]}-{digest}"


class McpGroups:
    def __init__(self, context: ProviderContext) -> None:
        self.context = context

    def provider_id(self, spec: McpTool) -> str:
        """The tool runtime provider that claims MCP groups (the first, in run-config order)."""
        handle = self.context.deps.get("tool_runtime")
        for provider_id, impl in (handle.providers if handle is not None else {}).items():
            if isinstance(impl, ToolGroupClaimer) and impl.claims_tool_group(_PROBE):
                return provider_id
        raise BadRequestError(
            f"MCP server {spec.server_url} ('{spec.server_label}') needs a tool_runtime provider of type "
            "remote::model-context-protocol to register it with; add one to the run config's providers, "
            "or register a tool group for the server (POST /v1/toolgroups with an mcp_endpoint).",
            param="tools",
        )

    async def register(self, spec: McpTool) -> ToolGroup:
        """Register ``spec``'s server as a tool group of the current user (idempotent)."""
        url = spec.server_url or ""
        user = current_user.get()
        registry = self.context.registry("tool_groups")
        request = registry.kind.register_request.model_validate(
            {
                "toolgroup_id": group_id(spec.server_label, url, user.principal if user else None),
                "provider_id": self.provider_id(spec),
                "mcp_endpoint": {"uri": url},
            }
        )
        return cast(ToolGroup, await registry.register(request))
