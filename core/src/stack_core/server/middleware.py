"""The kernel's ASGI middleware: request id, access log, errors → JSON, lazy start-up.

Written as plain ASGI (no BaseHTTPMiddleware) to keep the per-request cost near zero.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..context import PROVIDER_DATA_HEADERS, provider_data
from ..redact import hashed_principal
from ..resources import User
from .errors import error_response

__all__ = ["KernelMiddleware", "Lifecycle", "route_template"]

access_log = logging.getLogger("stack.access")
REQUEST_ID = b"x-request-id"


class Lifecycle(Protocol):
    """What the middleware reports to and asks of the app around it."""

    requests: int

    async def ensure_started(self) -> None: ...


class KernelMiddleware:
    """Outermost layer: assigns ``x-request-id``, maps any escaped exception to a JSON error,
    logs the request, counts it, and makes sure the stack is started (when mounted without
    lifespan).

    ``scope["state"]["log_fields"]`` is a dict any inner layer may add fields to (the telemetry
    plugin's trace id, model and tokens, the quota's rejection); the access log line carries them
    with the request id, route, status, duration and the hashed principal."""

    def __init__(self, app: ASGIApp, lifecycle: Lifecycle) -> None:
        self.app = app
        self.lifecycle = lifecycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for key, value in scope["headers"]:
            if key == REQUEST_ID:
                request_id = value.decode("latin-1")[:128]
            elif key in PROVIDER_DATA_HEADERS:
                provider_data.set(value.decode("latin-1"))
        self.lifecycle.requests += 1
        request_id = request_id or uuid.uuid4().hex
        fields: dict[str, object] = {}
        state = scope.setdefault("state", {})
        state["request_id"], state["log_fields"] = request_id, fields
        header = (REQUEST_ID, request_id.encode("latin-1"))
        started = False
        status = 500
        began = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.lifecycle.ensure_started()
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:
                raise
            response = error_response(exc, request_id)
            await response(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                _log_request(scope, status, time.perf_counter() - began, request_id, fields)


def route_template(scope: Scope) -> str | None:
    """The declared path of the route the request matched (``/v1/models/{model_id:path}``), once
    the router ran; ``None`` for an unmatched path."""
    template: str | None = getattr(scope.get("endpoint"), "template", None)
    return template


def _log_request(
    scope: Scope, status: int, seconds: float, request_id: str, fields: dict[str, object]
) -> None:
    user: User | None = scope["state"].get("user")
    record = {
        "request_id": request_id,
        "method": scope["method"],
        "route": route_template(scope) or scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        **({"principal": hashed_principal(user.principal)} if user is not None else {}),
        **fields,
    }
    extra = "".join(
        f" {k}={v}" for k, v in record.items() if k not in ("method", "route", "status", "duration_ms")
    )
    access_log.info(
        "%s %s %d %.1fms%s",
        scope["method"],
        scope["path"],
        status,
        seconds * 1000,
        extra,
        extra={"fields": record},
    )
