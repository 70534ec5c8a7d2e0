"""The ``STACK_*`` environment variables, each declared once with what it does.

``docs/configuration.md`` is generated from ``VARIABLES`` (``stack docs config``); a test fails when
the kernel or a plugin reads a ``STACK_*`` variable that is not declared here. ``configure_logging``
applies the two that shape the process's logging.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from .redact import RedactingFormatter

__all__ = ["VARIABLES", "EnvVar", "configure_logging", "debugging"]


@dataclass(frozen=True)
class EnvVar:
    name: str
    description: str
    default: str = ""


VARIABLES: tuple[EnvVar, ...] = (
    EnvVar("STACK_CONFIG", "Run config file or distribution name `stack` commands use when none is named."),
    EnvVar("STACK_HOME", "Directory of the stack's state (registry database, provider state).", "~/.stack"),
    EnvVar(
        "STACK_DISTRIBUTIONS_DIR",
        "Directory searched first for `NAME.yaml` when a command names a distribution "
        "(then the distributions shipped in stack-core).",
    ),
    EnvVar("STACK_PORT", "Port of the shipped `starter` distribution (its `server.port`).", "8321"),
    EnvVar(
        "STACK_SECRETS_KEY",
        "Key sealing jobs' secrets (a background response's MCP credentials): 32 bytes in URL-safe "
        "base64; replicas sharing a database must share it.",
        "a key file in the state directory",
    ),
    EnvVar(
        "STACK_LOG_LEVEL",
        "Log level (DEBUG, INFO, WARNING, ...). DEBUG also prints the traceback of a start-up failure, "
        "like `stack run --debug`.",
        "INFO",
    ),
    EnvVar(
        "STACK_LOG_FORMAT",
        "`json`: every log record is one JSON object and the access log is on (run config "
        "`telemetry.log_format` overrides it).",
        "text",
    ),
    EnvVar("STACK_ACCESS_LOG", "Any non-empty value logs one line per HTTP request (logger `stack.access`)."),
    EnvVar(
        "STACK_PLUGINS",
        "Comma-separated entry-point names: only these plugins (and the kernel's own `core`) are loaded.",
    ),
    EnvVar("STACK_DISABLE_PLUGINS", "Comma-separated entry-point names of plugins never loaded."),
    EnvVar("STACK_TRACE_PLUGINS", "`1` logs every plugin loaded and everything it registers."),
    EnvVar(
        "STACK_WORKER_CONFIG",
        "Set by `stack run --workers N` for its worker processes (the run config they load); not for users.",
    ),
    EnvVar(
        "STACK_WORKER_STATUS",
        "Set by `stack run --workers N` for its worker processes (where each says it started, or why "
        "it could not); not for users.",
    ),
)

QUIET = ("httpx", "faiss.loader", "chromadb.telemetry")


def debugging() -> bool:
    """Whether ``STACK_LOG_LEVEL`` asks for debug output (tracebacks of start-up failures)."""
    return os.environ.get("STACK_LOG_LEVEL", "").upper() == "DEBUG"


def configure_logging() -> None:
    """Log to stderr at ``STACK_LOG_LEVEL``, URL credentials hidden; third-party chatter, Hypercorn's own "Running on" line
    (``stack run`` prints its banner) and the access log (unless ``STACK_ACCESS_LOG``) stay at
    WARNING, except when debugging."""
    level = os.environ.get("STACK_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    if not os.environ.get("STACK_ACCESS_LOG"):
        logging.getLogger("stack.access").setLevel(logging.WARNING)
    if not debugging():
        for name in (*QUIET, "hypercorn.error"):
            logging.getLogger(name).setLevel(logging.WARNING)
