"""``create_app``: the kernel as a pure-Starlette ASGI application.

The app starts its stack on the ASGI lifespan; mounted inside another app that does not forward
lifespan events, it starts on the first request instead. ``app.state.stack`` is the running stack;
``app.state.lifecycle.ensure_started()`` starts it ahead of serving (``stack run`` does, so that a
provider failing to start is reported before any socket is bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..config import METRICS_PATH, RunConfig, load_config
from ..errors import ConfigError
from ..framing import Framing
from ..hookspecs import AuthContext, Authenticator
from ..plugins import PluginSet, load_plugins
from ..services import stack_version
from ..spec import ApiSpec
from ..stack import Stack
from .docs import docs_routes
from .endpoints import AsgiEndpoint, make_endpoint
from .errors import error_response
from .limits import LimitsMiddleware
from .logs import apply_log_config
from .memory import malloc_trim, trim_when_idle
from .middleware import KernelMiddleware

if TYPE_CHECKING:
    from .quota import Counter

# Auth, quota and the OpenAPI document are imported only by a server that uses them.

__all__ = ["create_app"]


class _Lifecycle:
    """Starts the stack exactly once, whoever asks first (lifespan or first request)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.started = False
        self.requests = 0
        self.authenticator: Authenticator | None = None
        self.quota_counter: Counter | None = None
        self._lock = asyncio.Lock()

    async def ensure_started(self) -> None:
        if self.started:
            return
        async with self._lock:
            if not self.started:
                quota = self.stack.config.server.quota
                if quota is not None:
                    from .quota import open_counter

                    self.quota_counter = open_counter(quota.kvstore, self.stack.state_dir / "quotas.db")
                await self.stack.start()
                auth = self.stack.config.server.auth
                if auth is not None:
                    from .auth import build_authenticator

                    try:
                        self.authenticator = await build_authenticator(
                            auth, self.stack.plugins, self._auth_context()
                        )
                    except BaseException:
                        await self.stack.stop()
                        raise
                self.started = True

    def _auth_context(self) -> AuthContext:
        assert self.stack.database is not None
        return AuthContext(database=self.stack.database, state_dir=self.stack.state_dir / "auth")

    async def stop(self) -> None:
        if self.started:
            close = getattr(self.authenticator, "aclose", None)
            if close is not None:
                await close()
            self.authenticator = None
            await self.stack.stop()
            if self.quota_counter is not None:
                await self.quota_counter.close()
                self.quota_counter = None
            self.started = False


def _routes(specs: list[ApiSpec], stack: Stack) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for spec in specs:
        for declared in spec.routes:
            slot = stack.slot(spec.name, declared.name)
            endpoints: dict[Framing, AsgiEndpoint] = {}
            for path in declared.paths:
                framing = declared.framing_for(path)
                if framing not in endpoints:
                    endpoints[framing] = AsgiEndpoint(make_endpoint(declared, slot, framing), declared.path)
                routes.append(
                    Route(
                        path,
                        endpoints[framing],
                        methods=[declared.method],
                        name=f"{spec.name}.{declared.name}",
                    )
                )
    return routes


def _public_paths(config: RunConfig) -> frozenset[str]:
    """Paths served without authentication or quota (``/metrics`` with ``telemetry.metrics_public``)."""
    from .auth import PUBLIC_PATHS

    return PUBLIC_PATHS | {METRICS_PATH} if config.telemetry.metrics_public else PUBLIC_PATHS


def create_app(
    config: str | Path | Mapping[str, Any] | RunConfig,
    *,
    plugins: PluginSet | None = None,
    env: Mapping[str, str] | None = None,
) -> Starlette:
    """Build the ASGI app for a run config (a path, YAML text, a mapping or a ``RunConfig``).

    Config errors (bad YAML, unknown APIs or provider types, invalid fields) raise ``ConfigError``
    here; provider start-up errors surface when the app starts.
    """
    run_config = load_config(config, env if env is not None else os.environ)
    stack = Stack(run_config, plugins if plugins is not None else load_plugins())
    specs = stack.plan()
    lifecycle = _Lifecycle(stack)
    document: dict[str, Any] = {}

    async def openapi(_: Request) -> Response:
        if not document:
            from .openapi import openapi_document

            document.update(openapi_document(specs, stack_version()))
        return JSONResponse(document)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await lifecycle.ensure_started()
        trim = malloc_trim()
        housekeeping = asyncio.create_task(trim_when_idle(lambda: lifecycle.requests, trim)) if trim else None
        try:
            yield
        finally:
            if housekeeping:
                housekeeping.cancel()
            await lifecycle.stop()

    async def http_error(request: Request, exc: Exception) -> Response:
        return error_response(exc, request.scope.get("state", {}).get("request_id", ""))

    apply_log_config(run_config.telemetry)
    middleware = [
        Middleware(KernelMiddleware, lifecycle=lifecycle),
        Middleware(LimitsMiddleware, config=run_config.server),
    ]
    middleware += [Middleware(m.factory) for m in stack.plugins.ordered_middleware()]
    auth = run_config.server.auth
    if auth is not None:
        kind = auth.provider_config.get("type")
        if kind not in stack.plugins.auth:
            installed = ", ".join(sorted(stack.plugins.auth)) or "none"
            raise ConfigError(
                f"server.auth.provider_config.type {kind!r} is not an installed auth provider (installed: {installed})."
            )
        from .auth import AuthMiddleware

        middleware.append(Middleware(AuthMiddleware, holder=lifecycle, public=_public_paths(run_config)))
    if run_config.server.quota is not None:
        from .quota import QuotaMiddleware

        middleware.append(
            Middleware(
                QuotaMiddleware,
                config=run_config.server.quota,
                holder=lifecycle,
                authenticated=auth is not None,
                public=_public_paths(run_config),
            )
        )
    app = Starlette(
        routes=[*_routes(specs, stack), Route("/openapi.json", openapi, methods=["GET"]), *docs_routes()],
        middleware=middleware,
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.stack = stack
    app.state.lifecycle = lifecycle
    app.state.config = run_config
    return app
