"""The tool runtime on MCP servers: groups ``mcp::<name>`` registered with ``mcp_endpoint: {uri}``.

Registering a group only checks it (no connection: a server down at start-up does not stop the
stack); the kernel lists a group's tools when first needed and caches them. Calls go through the
session pool (``pool``), as the current user with the headers in effect: the provider config's
for the endpoint, the group's ``args.headers`` (no credentials: the registry stores and lists
args), and the request's provider data ``{"mcp_headers": {URI: {name: value}}}``, which wins.
Headers are never logged nor stored.

Errors: a tool's own failure is a result with ``error_message``; a server that cannot be reached
or drops the session twice is a 502 naming the group and endpoint; past ``timeout_s`` (or
``connect_timeout_s`` while connecting) a 504.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from mcp import ClientSession, McpError
from mcp.types import CallToolResult, PaginatedRequestParams, Tool
from pydantic import Field, ValidationError

from stack_core import (
    BadRequestError,
    ConfigModel,
    ProviderContext,
    ProviderError,
    ProviderTimeoutError,
    ToolDef,
    ToolGroup,
    ToolInvocation,
    ToolInvocationResult,
    current_user,
    provider_data_object,
)

from .config import McpConfig, Transport
from .mapping import error_result, invocation_result, tool_def
from .pool import SessionPool, wire_for_path
from .session import SessionLost, Target, Timeouts, describe

__all__ = ["McpToolRuntime", "create_provider"]

T = TypeVar("T")
CREDENTIAL = re.compile(r"authorization|cookie|token|secret|key|password|credential", re.IGNORECASE)


class GroupArgs(ConfigModel):
    """What a group's ``args`` may say."""

    transport: Transport | None = Field(default=None, description="Overrides the provider's transport.")
    headers: dict[str, str] = Field(default_factory=dict, description="Headers sent to the server.")


def group_args(group: ToolGroup) -> GroupArgs:
    try:
        args = GroupArgs.model_validate(group.args or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadRequestError(
            f"Tool group '{group.identifier}': invalid args ({problems}); an MCP group takes "
            "args.transport (auto, sse, streamable_http) and args.headers.",
            param="args",
        ) from None
    secret = sorted(name for name in args.headers if CREDENTIAL.search(name))
    if secret:
        raise BadRequestError(
            f"Tool group '{group.identifier}': args.headers must not carry credentials ({', '.join(secret)}): "
            "the registry stores and lists group args. Send them per request in X-Stack-Provider-Data "
            '{"mcp_headers": {"<endpoint uri>": {...}}}, or set them in the provider config\'s headers.',
            param="args",
        )
    return args


def endpoint(group: ToolGroup) -> str:
    uri = group.mcp_endpoint.uri if group.mcp_endpoint is not None else ""
    if not re.match(r"https?://[^/?#]+", uri):
        raise BadRequestError(
            f"Tool group '{group.identifier}' needs mcp_endpoint: {{uri: http(s)://host[:port]/path}} "
            f"(the MCP server's /sse or /mcp URL); got {uri or 'none'}.",
            param="mcp_endpoint",
        )
    return uri


def request_headers(uri: str) -> dict[str, str]:
    """The current request's headers for ``uri`` from its provider data (``mcp_headers``)."""
    by_uri = provider_data_object().get("mcp_headers")
    headers = by_uri.get(uri) if isinstance(by_uri, dict) else None
    if headers is None:
        return {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise BadRequestError(f"provider data mcp_headers[{uri!r}] must map header names to strings.")
    return headers


def identity(headers: dict[str, str]) -> str:
    """A digest of the current user and the headers in effect, names lower-cased (the pool's key,
    never the headers)."""
    user = current_user.get()
    named = sorted(headers.items())
    return hashlib.sha256(json.dumps([user.principal if user else None, named]).encode()).hexdigest()


async def _list_tools(client: ClientSession) -> list[Tool]:
    tools: list[Tool] = []
    cursor: str | None = None
    while True:
        page = await client.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools += page.tools
        cursor = page.nextCursor
        if not cursor:
            return tools


class McpToolRuntime:
    """``remote::model-context-protocol``: the tools of MCP servers, over pooled sessions."""

    def __init__(self, config: McpConfig, provider_id: str) -> None:
        self.config, self.provider_id = config, provider_id
        timeouts = Timeouts(
            connect=config.connect_timeout_s, call=config.timeout_s, idle=config.idle_timeout_s
        )
        self.pool = SessionPool(timeouts, config.max_sessions)

    def claims_tool_group(self, group: ToolGroup) -> bool:
        return group.mcp_endpoint is not None

    async def register_tool_group(self, group: ToolGroup) -> ToolGroup | None:
        endpoint(group)
        group_args(group)
        return None

    async def unregister_tool_group(self, group: ToolGroup) -> None:
        if group.mcp_endpoint is not None:
            await self.pool.close_endpoint(group.mcp_endpoint.uri)

    def listing_scope(self, group: ToolGroup) -> str:
        """A server may list each caller (user and credentials) other tools (``ToolListingScope``)."""
        return self.target(group)[0].identity

    async def list_runtime_tools(self, group: ToolGroup) -> list[ToolDef]:
        try:
            tools = await self._run(group, "listing tools", _list_tools)
        except McpError as exc:
            raise ProviderError(
                f"MCP server of tool group '{group.identifier}' refused to list its tools: {exc.error.message}",
                provider_id=self.provider_id,
            ) from None
        return [tool_def(tool) for tool in tools]

    async def invoke_tool(self, call: ToolInvocation) -> ToolInvocationResult:
        arguments = dict(call.kwargs)

        async def invoke(client: ClientSession) -> CallToolResult:
            return await client.call_tool(call.tool_name, arguments)

        try:
            result = await self._run(call.group, f"tool '{call.tool_name}'", invoke)
        except (McpError, RuntimeError) as exc:
            return error_result(exc)
        return invocation_result(result)

    async def shutdown(self) -> None:
        await self.pool.aclose()

    def target(self, group: ToolGroup) -> tuple[Target, bool]:
        """Where and as whom to call the group's server; and whether the transport is a guess."""
        uri, args = endpoint(group), group_args(group)
        wire = args.transport or self.config.transport
        named = wire_for_path(uri) if wire == "auto" else wire
        configured = {k: v.get_secret_value() for k, v in self.config.headers.get(uri, {}).items()}
        headers = {
            k.lower(): v
            for layer in (configured, args.headers, request_headers(uri))
            for k, v in layer.items()
        }
        return Target(uri, named or "streamable_http", headers, identity(headers)), named is None

    async def _run(self, group: ToolGroup, what: str, call: Callable[[ClientSession], Awaitable[T]]) -> T:
        target, auto = self.target(group)
        try:
            return await self.pool.run(target, call, auto=auto)
        except SessionLost as exc:
            raise ProviderError(
                f"MCP server of tool group '{group.identifier}' at {target.uri} failed ({what}): {describe(exc)}",
                provider_id=self.provider_id,
                code="mcp_server_error",
            ) from None
        except TimeoutError:
            raise ProviderTimeoutError(
                f"MCP server of tool group '{group.identifier}' at {target.uri} did not answer ({what}) in time "
                f"(timeout_s {self.config.timeout_s}, connect_timeout_s {self.config.connect_timeout_s}).",
                provider_id=self.provider_id,
            ) from None


def create_provider(config: McpConfig, context: ProviderContext) -> McpToolRuntime:
    return McpToolRuntime(config, context.provider_id)
