"""Entry module for spawned Hypercorn workers: builds the app from the config the parent named.

The stack starts before Hypercorn's lifespan reaches the app: a worker whose stack cannot start
reports why to the parent (``report_status``) and exits with status 2, without a traceback unless
debugging; one that starts says so.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, NoReturn

from ..environment import configure_logging, debugging
from ..errors import StackError
from .serve import WORKER_CONFIG_ENV, report_status, without_httpx_cli

without_httpx_cli()
configure_logging()
from .app import create_app  # noqa: E402


def _give_up(exc: StackError) -> NoReturn:
    if debugging():
        traceback.print_exception(exc, file=sys.stderr)
    report_status(error=exc.message)
    raise SystemExit(2)  # multiprocessing ends the worker quietly on SystemExit


try:
    _app = create_app(os.environ[WORKER_CONFIG_ENV])
except StackError as exc:
    _give_up(exc)


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        try:
            await _app.state.lifecycle.ensure_started()
        except StackError as exc:
            _give_up(exc)
        report_status(started=True)
    await _app(scope, receive, send)
