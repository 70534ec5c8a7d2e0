"""Serving the app with Hypercorn: one in-process worker, or N spawned workers sharing sockets.

SIGTERM/SIGINT trigger a graceful shutdown (in-flight requests finish, providers shut down).
Spawned workers append one JSON line each to the status file the parent names in
``STACK_WORKER_STATUS``: ``{"started": true}``, or ``{"error": "..."}`` before exiting with status 2;
the parent announces the server once every worker started, and reports the first error once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypercorn.config import Config as HypercornConfig
from hypercorn.config import Sockets

from ..config import ServerConfig
from ..errors import ConfigError, StackError

__all__ = ["serve"]

WORKER_CONFIG_ENV = "STACK_WORKER_CONFIG"
WORKER_STATUS_ENV = "STACK_WORKER_STATUS"


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
    config.errorlog = logging.getLogger("hypercorn.error")  # the process's logging, not a second handler
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
        sockets = _bind(config)
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


def _bind(config: HypercornConfig) -> Sockets:
    try:
        return config.create_sockets()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {config.bind[0]}: {exc.strerror or exc}. Stop what uses it, or choose "
            "another port (--port, or server.port in the run config)."
        ) from None


def report_status(**status: object) -> None:
    """In a spawned worker: tell the parent it started (``started=True``) or why not (``error=...``)."""
    path = os.environ.get(WORKER_STATUS_ENV)
    if path:
        with open(path, "a") as status_file:
            status_file.write(json.dumps(status) + "\n")


def _statuses(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _announce_when_started(
    path: Path, workers: int, listening: Callable[[], None], done: threading.Event
) -> None:
    while not done.wait(0.1):
        statuses = _statuses(path)
        if any("error" in s for s in statuses):
            return
        if sum(1 for s in statuses if s.get("started")) >= workers:
            listening()
            return


def _serve_workers(
    source: str | dict[str, Any], config: HypercornConfig, listening: Callable[[], None]
) -> None:
    from hypercorn.run import run

    probe = _bind(config)  # a port in use is one message here, not a traceback from hypercorn's run
    for sock in (*probe.secure_sockets, *probe.insecure_sockets, *probe.quic_sockets):
        sock.close()
    with tempfile.TemporaryDirectory(prefix="stack-workers-") as scratch:
        if isinstance(source, dict):
            path = Path(scratch) / "run.yaml"
            path.write_text(yaml.safe_dump(source))
            source = str(path)
        status = Path(scratch) / "status"
        status.touch()
        os.environ[WORKER_CONFIG_ENV] = str(Path(source).resolve())
        os.environ[WORKER_STATUS_ENV] = str(status)
        config.application_path = "stack_core.server.worker:app"
        config.worker_class = "uvloop" if _event_loop_runner() is not asyncio.run else "asyncio"
        done = threading.Event()
        announcer = threading.Thread(
            target=_announce_when_started, args=(status, config.workers, listening, done), daemon=True
        )
        announcer.start()
        try:
            code = run(config)
        finally:
            done.set()
            announcer.join()
        errors = [s["error"] for s in _statuses(status) if "error" in s]
    if errors:
        raise StackError(str(errors[0]))
    if code:
        raise StackError(f"a worker process exited with status {code}; run with --debug for details")


def serve(
    source: str | dict[str, Any],
    server: ServerConfig,
    app: Any = None,
    listening: Callable[[], None] = lambda: None,
) -> None:
    """Serve the run config ``source`` (a file path or an unresolved config tree).

    With one worker ``app`` (already built) is served in this process, and ``listening()`` is called
    once its socket is bound; with more, each spawned worker builds its own app from ``source`` and
    the inherited environment, and ``listening()`` is called once all of them started. A worker
    that cannot start ends the server with its ``StackError``.
    """
    config = hypercorn_config(server)
    if server.workers <= 1:
        _event_loop_runner()(_serve_one(app, config, listening))
    else:
        _serve_workers(source, config, listening)
