"""Configuration of ``remote::model-context-protocol``: timeouts, the session pool, the transport,
and headers the stack sends to each endpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from stack_core import ConfigModel

Transport = Literal["auto", "sse", "streamable_http"]


class McpConfig(ConfigModel):
    timeout_s: float = Field(
        default=30.0, gt=0, description="Longest one tool call or tool listing may take; past it: 504."
    )
    connect_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest opening a session (connect and initialize) may take."
    )
    idle_timeout_s: float = Field(
        default=300.0, gt=0, description="A pooled session unused this long is closed."
    )
    max_sessions: int = Field(
        default=256,
        ge=1,
        description="Most sessions kept open; past it the least recently used idle one closes.",
    )
    transport: Transport = Field(
        default="auto",
        description="sse, streamable_http, or auto: by the endpoint's path (/sse, /mcp), else "
        "streamable HTTP with a fallback to SSE. A group's args.transport overrides it.",
    )
    headers: dict[str, dict[str, SecretStr]] = Field(
        default_factory=dict,
        description="Headers sent to an endpoint, by its URI (e.g. a service token). Per-user "
        'headers come per request in the provider data: {"mcp_headers": {URI: {name: value}}}.',
    )
