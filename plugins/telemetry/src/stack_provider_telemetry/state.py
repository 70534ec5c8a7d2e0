"""What the plugin's hooks need on every request, importing nothing heavy.

Each running stack has one ``Telemetry`` runtime, built when the stack starts (by the ``metrics``
kernel API's factory, once the telemetry providers are up) and looked up here by the stack. The
middleware finds its app's runtime on the first request and marks each request's context with
it (``ACTIVE``), which is how the provider-call wrapper, a module-level hook, knows which
stack's runtime a call belongs to. With telemetry disabled there is no runtime, and both hooks
pass calls straight through.
"""

from __future__ import annotations

import weakref
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from .runtime import RequestScope, Telemetry

__all__ = ["ACTIVE", "RUNTIMES", "TelemetryMiddleware"]

ACTIVE: ContextVar[RequestScope | None] = ContextVar("stack_telemetry_request", default=None)
RUNTIMES: weakref.WeakKeyDictionary[Any, Telemetry] = weakref.WeakKeyDictionary()
_UNRESOLVED: Any = object()


class TelemetryMiddleware:
    """Plain ASGI: the app's runtime serves each HTTP request (span, metrics, log fields), or the
    request passes through when the stack has none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.runtime: Telemetry | None = _UNRESOLVED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        if runtime is _UNRESOLVED:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            stack = getattr(getattr(scope.get("app"), "state", None), "stack", None)
            runtime = self.runtime = RUNTIMES.get(stack) if stack is not None else None
        if runtime is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await runtime.serve(self.app, scope, receive, send)
