"""Secret redaction for anything shown to users: `/v1/providers`, `stack config show`, logs."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, SecretStr

__all__ = ["REDACTED", "redact"]

REDACTED = "**********"
_SECRET_NAME = re.compile(r"(api[_-]?key|token|password|passwd|secret|credential|authorization)", re.I)


def redact(value: Any, key: str = "") -> Any:
    """A JSON-able copy of ``value`` with secrets replaced by ``REDACTED``.

    ``SecretStr`` values are always redacted; so is any non-empty scalar under a key that names a
    secret (``api_key``, ``token``, ``password``, ...).
    """
    if isinstance(value, BaseModel):
        return {k: redact(getattr(value, k), k) for k in type(value).model_fields}
    if isinstance(value, SecretStr):
        return REDACTED if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, key) for v in value]
    if key and _SECRET_NAME.search(key) and isinstance(value, str | int) and value != "":
        return REDACTED
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
