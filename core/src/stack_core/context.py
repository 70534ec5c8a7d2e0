"""Per-request context the middleware sets and the kernel reads (the authenticated user)."""

from __future__ import annotations

from contextvars import ContextVar

from .resources import User

__all__ = ["PROVIDER_DATA_HEADERS", "current_user", "provider_data"]

PROVIDER_DATA_HEADERS = (b"x-stack-provider-data", b"x-llamastack-provider-data")

current_user: ContextVar[User | None] = ContextVar("stack_current_user", default=None)
provider_data: ContextVar[str | None] = ContextVar("stack_provider_data", default=None)
"""Raw JSON of the request's provider-data header (per-request credentials for hosted providers)."""
