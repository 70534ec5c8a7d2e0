"""Per-request context the middleware sets and the kernel reads (the authenticated user)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import orjson

from .errors import BadRequestError
from .resources import Resource, User

__all__ = [
    "PROVIDER_DATA_HEADERS",
    "current_user",
    "outbound_headers",
    "provider_data",
    "provider_data_object",
    "provider_data_value",
    "routed_resource",
]

PROVIDER_DATA_HEADERS = (b"x-stack-provider-data", b"x-llamastack-provider-data")

current_user: ContextVar[User | None] = ContextVar("stack_current_user", default=None)
routed_resource: ContextVar[Resource | None] = ContextVar("stack_routed_resource", default=None)
"""The resource the router dispatched the current request on (its identifier, params, metadata);
providers read it because the request's routing field carries the provider-side name."""
provider_data: ContextVar[str | None] = ContextVar("stack_provider_data", default=None)
"""Raw JSON of the request's provider-data header (per-request credentials for hosted providers)."""
outbound_headers: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("stack_outbound_headers", default=())
"""Headers the kernel's HTTP transport adds to upstream calls made in this context (the telemetry
plugin's W3C ``traceparent`` of the current provider-call span)."""


def provider_data_object() -> dict[str, Any]:
    """The request's provider-data header as a JSON object (``{}`` when there is none); a header
    that is not a JSON object is a 400."""
    raw = provider_data.get()
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise BadRequestError("X-Stack-Provider-Data must be a JSON object.")
    return data


def provider_data_value(key: str) -> str | None:
    """The value under ``key`` in the request's provider-data header (e.g. a per-request API key),
    or ``None``; a header that is not a JSON object is a 400."""
    value = provider_data_object().get(key)
    return str(value) if value else None
