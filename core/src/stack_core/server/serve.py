"""Serving the app with Hypercorn: one in-process worker, or N spawned workers sharing sockets.

SIGTERM/SIGINT trigger a graceful shutdown (in-flight requests finish, providers shut down).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypercorn.config import Config as HypercornConfig

from ..config import ServerConfig
from ..errors import ConfigError

__all__ = ["serve"]

WORKER_CONFIG_ENV = "STACK_WORKER_CONFIG"


def without_httpx_cli() -> None:
    """Keep httpx from importing its command-line client (click, rich and pygments: ~5 MiB resident),
    which it does whenever those happen to be installed; a server process never uses it. Call before
    httpx is first imported."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # httpx falls back to a stub `main`


def hypercorn_config(server: ServerConfig) -> HypercornConfig:
    config = HypercornConfig()
    host = f"[{server.host}]" if ":" in server.host else server.host
    config.bind = [f"{host}:{server.port}"]
    config.accesslog = None
    config.errorlog = "-"
    config.graceful_timeout = 10.0
    config.keep_alive_timeout = server.keep_alive_timeout
    config.workers = server.workers
    if server.tls_certfile:
        config.certfile = server.tls_certfile
        config.keyfile = server.tls_keyfile
        if server.tls_cafile:
            import ssl

            config.ca_certs = server.tls_cafile
            config.verify_mode = ssl.CERT_REQUIRED
    return config


def _event_loop_runner() -> Any:
    try:
        import uvloop

        return uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return asyncio.run


async def _serve_one(app: Any, config: HypercornConfig, listening: Callable[[], None]) -> None:
    """Start the stack, bind the socket, call ``listening()``, serve until SIGTERM/SIGINT. A
    provider that fails to start or a port in use raise a ``StackError`` before anything is served."""
    from hypercorn.asyncio.run import worker_serve
    from hypercorn.utils import wrap_app

    lifecycle = app.state.lifecycle
    await lifecycle.ensure_started()  # the app's lifespan then finds it started, and stops it
    try:
        try:
            sockets = config.create_sockets()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {config.bind[0]}: {exc.strerror or exc}. Stop what uses it, or choose "
                "another port (--port, or server.port in the run config)."
            ) from None
        listening()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await worker_serve(
            wrap_app(app, config.wsgi_max_body_size, "asgi"),
            config,
            sockets=sockets,
            shutdown_trigger=stop.wait,
        )
    finally:
        await lifecycle.stop()


def serve(
    source: str | dict[str, Any],
    server: ServerConfig,
    app: Any = None,
    listening: Callable[[], None] = lambda: None,
) -> None:
    """Serve the run config ``source`` (a file path or an unresolved config tree).

    With one worker ``app`` (already built) is served in this process, and ``listening()`` is called
    once its socket is bound; with more, each spawned worker builds its own app from ``source`` and
    the inherited environment (``listening()`` is called before they start).
    """
    config = hypercorn_config(server)
    if server.workers <= 1:
        _event_loop_runner()(_serve_one(app, config, listening))
        return
    listening()
    from hypercorn.run import run

    if isinstance(source, dict):
        handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)  # noqa: SIM115
        with handle:
            yaml.safe_dump(source, handle)
        source = handle.name
    os.environ[WORKER_CONFIG_ENV] = str(Path(source).resolve())
    config.application_path = "stack_core.server.worker:app"
    config.worker_class = "uvloop" if _event_loop_runner() is not asyncio.run else "asyncio"
    run(config)
