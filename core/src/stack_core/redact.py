"""Secret redaction for anything shown to users: `/v1/providers`, `stack config show`, error
bodies, logs. Secrets hide in two places: fields that name one (``api_key``, ``password``, ...) and
the userinfo of URLs (``https://user:pass@host``, ``postgresql://user:pass@db/stack``)."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from pydantic import BaseModel, SecretStr

__all__ = [
    "REDACTED",
    "RedactingFormatter",
    "hashed_principal",
    "redact",
    "redact_urls",
    "secret_name",
    "url_userinfo",
]

REDACTED = "**********"
_SECRET_NAME = re.compile(
    r"(?:^|[_.-])(api[_-]?key|token|password|passwd|secret|credentials?|authorization)(?:$|[_.-])", re.I
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@\s\"']+@")


def redact_urls(text: str) -> str:
    """``text`` with the userinfo (user and password) of every URL in it replaced by ``REDACTED``."""
    return _USERINFO.sub(rf"\1{REDACTED}@", text) if "@" in text else text


def url_userinfo(url: str) -> bool:
    """Whether ``url`` carries credentials (``scheme://user[:password]@host``)."""
    return _USERINFO.match(url.strip()) is not None


class RedactingFormatter(logging.Formatter):
    """A log formatter that hides URL credentials in messages and tracebacks alike."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_urls(super().format(record))


def secret_name(key: str) -> bool:
    """Whether a field named ``key`` holds a secret: a whole word of it (``_``, ``-``, ``.`` or
    camelCase separated) names one (``api_key``, ``access_token``, ``clientSecret``), so
    ``max_tokens`` and ``chunk_size_tokens`` are not."""
    return bool(_SECRET_NAME.search(_CAMEL.sub("_", key)))


def redact(value: Any, key: str = "") -> Any:
    """A JSON-able copy of ``value`` with secrets replaced by ``REDACTED``.

    ``SecretStr`` values are always redacted; so is any non-empty scalar under a key that names a
    secret (``api_key``, ``token``, ``password``, ...; see ``secret_name``), and the credentials of
    any URL in a string.
    """
    if isinstance(value, BaseModel):
        return {k: redact(getattr(value, k), k) for k in type(value).model_fields}
    if isinstance(value, SecretStr):
        return REDACTED if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, key) for v in value]
    if key and secret_name(key) and isinstance(value, str | int) and value != "":
        return REDACTED
    if isinstance(value, str):
        return redact_urls(value)
    if value is None or isinstance(value, int | float | bool):
        return value
    return redact_urls(str(value))


def hashed_principal(principal: str) -> str:
    """A stable, non-reversible name for a principal in logs, spans and metrics (16 hex digits of
    its SHA-256)."""
    return hashlib.sha256(principal.encode()).hexdigest()[:16]
