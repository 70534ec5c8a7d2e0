"""Log format and levels from the run config's ``telemetry`` section.

``log_format: json`` makes every record one JSON object (``ts``, ``level``, ``logger``,
``message`` and, for the access log, the request's fields) and turns the access log on;
``log_levels`` sets a level per logger. The root level stays ``STACK_LOG_LEVEL``
(``environment.configure_logging``). Nothing here reads headers or bodies: the access log's fields
are those the middleware layers put in the request's ``log_fields``, never a token.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from ..config import TelemetryConfig
from ..redact import redact_urls

__all__ = ["JsonFormatter", "apply_log_config"]


class JsonFormatter(logging.Formatter):
    """One JSON object per record; a record's ``fields`` mapping (``extra={"fields": ...}``) is
    merged in. URL credentials are hidden, as by the text format's ``RedactingFormatter``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return redact_urls(orjson.dumps(line, default=str).decode())


def apply_log_config(config: TelemetryConfig) -> None:
    """Apply the section's format and per-logger levels to the process's logging."""
    if config.log_format == "json":
        formatter = JsonFormatter()
        for handler in logging.getLogger().handlers:
            handler.setFormatter(formatter)
        logging.getLogger("stack.access").setLevel(logging.INFO)
    for name, level in config.log_levels.items():
        logging.getLogger(name).setLevel(level.upper())
