"""The one place where exceptions become HTTP responses (OpenAI error shape)."""

from __future__ import annotations

import logging

import orjson
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..errors import BadRequestError, StackError
from ..redact import redact_urls

__all__ = ["error_response", "validation_error"]

log = logging.getLogger("stack.server")

_HTTP_TYPES = {404: "not_found_error", 405: "invalid_request_error"}


def validation_error(exc: ValidationError, what: str = "request") -> BadRequestError:
    """A 400 naming the first offending field and saying what is expected."""
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": str(exc), "type": ""}
    field = ".".join(str(p) for p in first["loc"])
    msg = "unknown field; remove it" if first["type"] == "extra_forbidden" else first["msg"]
    extra = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    message = f"Invalid {what}: '{field}': {msg}{extra}" if field else f"Invalid {what}: {msg}"
    return BadRequestError(message, param=field or None, code="invalid_request")


def _body(message: str, type_: str, param: str | None = None, code: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


def error_response(exc: BaseException, request_id: str = "") -> Response:
    """Map any exception to a JSON response with the OpenAI error shape."""
    if isinstance(exc, StackError):
        body, status, headers = orjson.dumps(exc.to_body()), exc.status_code, dict(exc.headers)
    elif isinstance(exc, ValidationError):
        return error_response(validation_error(exc), request_id)
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        if status == 404:
            detail = "Route not found. GET /v1/inspect/routes lists the routes this server serves."
        elif status == 405:
            detail = f"Method not allowed on this route. {detail}"
        body, headers = (
            _body(detail, _HTTP_TYPES.get(status, "invalid_request_error")),
            dict(exc.headers or {}),
        )
    else:
        log.error("unhandled error (request %s)", request_id, exc_info=exc)
        body, status, headers = (
            _body(
                f"Internal server error ({type(exc).__name__}); see the server log for request {request_id}.",
                "server_error",
            ),
            500,
            {},
        )
    if b"@" in body:  # a URL's credentials (a provider's, in a connection error)
        body = redact_urls(body.decode()).encode()
    return Response(body, status_code=status, headers=headers, media_type="application/json")
