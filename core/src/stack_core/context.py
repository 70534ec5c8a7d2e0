"""Per-request context the middleware sets and the kernel reads (the authenticated user)."""

from __future__ import annotations

from contextvars import ContextVar

from .resources import User

__all__ = ["current_user"]

current_user: ContextVar[User | None] = ContextVar("stack_current_user", default=None)
