"""The one decoder of what providers return, for callers in the same process.

A provider method returns a reply (pre-encoded JSON ``bytes``, a ``dict``, a pydantic model) or a
stream (an ``SSEStream`` of framed bytes, or an async iterator of chunk payloads: ``bytes``, dicts or
models). ``decode_reply`` makes a reply a dict; ``decode_stream`` makes a stream an async iterator of
dicts, ending at ``data: [DONE]`` or at the end of the stream, and closes the source when closed.

An error body, ``{"error": {"message", "type", "code", ...}}`` as a reply or as an event mid-stream,
is raised as the ``StackError`` its ``type`` (or its HTTP status) names, keeping ``provider_id``; a
reply that cannot be read is a ``ProviderReplyError``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from ..errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    ProviderRateLimitError,
    ProviderReplyError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    StackError,
)
from ..payloads import SSEStream

__all__ = [
    "PayloadStream",
    "build_request",
    "decode_model",
    "decode_reply",
    "decode_stream",
    "error_from_body",
]

M = TypeVar("M", bound=BaseModel)

_BY_TYPE: dict[str, type[StackError]] = {
    "provider_error": ProviderError,
    "server_error": ProviderError,
    "rate_limit_error": ProviderRateLimitError,
    "service_unavailable": ProviderUnavailableError,
    "timeout_error": ProviderTimeoutError,
    "invalid_request_error": BadRequestError,
    "not_found_error": NotFoundError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "conflict_error": ConflictError,
}
_BY_STATUS: dict[int, type[StackError]] = {
    400: BadRequestError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: ProviderRateLimitError,
    503: ProviderUnavailableError,
    504: ProviderTimeoutError,
}
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def error_from_body(body: Mapping[str, Any]) -> StackError:
    """The exception an OpenAI-shaped error body stands for: by its ``type`` when it is one of the
    kernel's, else by its HTTP status (``code`` or ``status`` as a number), else a ``ProviderError``."""
    error = body.get("error", body)
    fields: Mapping[str, Any] = error if isinstance(error, Mapping) else {"message": str(error)}
    message = str(fields.get("message") or "The provider reported an error without a message.")
    code, provider_id = fields.get("code"), fields.get("provider_id")
    status = next((v for v in (code, fields.get("status")) if isinstance(v, int)), None)
    cls = _BY_TYPE.get(str(fields.get("type"))) or _BY_STATUS.get(status or 0, ProviderError)
    if cls is ProviderError and status is not None:
        message = f"Provider error {status}: {message}"
    text_code = code if isinstance(code, str) else None
    if issubclass(cls, ProviderError):
        pid = provider_id if isinstance(provider_id, str) else None
        return cls(message, provider_id=pid, code=text_code)
    param = fields.get("param")
    return cls(message, param=param if isinstance(param, str) else None, code=text_code)


def _is_error(data: Mapping[str, Any]) -> bool:
    return (set(data) == {"error"} and bool(data["error"])) or data.get("object") == "error"


def _payload(item: object, what: str) -> dict[str, Any]:
    if isinstance(item, BaseModel):
        data: object = item.model_dump(mode="json")
    elif isinstance(item, bytes | bytearray | memoryview):
        try:
            data = orjson.loads(item)
        except orjson.JSONDecodeError:
            snippet = bytes(item[:200]).decode(errors="replace")
            raise ProviderReplyError(f"The provider's {what} is not JSON: {snippet!r}") from None
    else:
        data = item
    if not isinstance(data, dict):
        raise ProviderReplyError(f"The provider's {what} is not a JSON object: {type(data).__name__}.")
    if _is_error(data):
        raise error_from_body(data)
    return data


def build_request(cls: type[M], fields: dict[str, Any]) -> M:
    """``cls`` built from ``fields`` (None values left unset); invalid fields are a 400."""
    try:
        return cls(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRequestError(f"Invalid {cls.__name__}: '{where}': {first['msg']}", param=where) from None


def decode_reply(reply: object) -> dict[str, Any]:
    """A provider's reply (``bytes``, a dict or a pydantic model) as a dict; an error body raises."""
    if isinstance(reply, SSEStream) or hasattr(reply, "__aiter__"):
        raise ProviderReplyError("The provider answered with a stream where a single reply was expected.")
    return _payload(reply, "reply")


def decode_model(reply: object, model: type[M]) -> M:
    """A provider's reply as ``model`` (returned as is when it already is one)."""
    if isinstance(reply, model):
        return reply
    try:
        return model.model_validate(decode_reply(reply))
    except ValidationError as exc:
        raise ProviderReplyError(
            f"The provider's reply is not a {model.__name__}: {exc.errors()[0]['msg']}"
        ) from None


def decode_stream(reply: object) -> PayloadStream:
    """A provider's stream as an async iterator of dicts; close it (or use ``async with``) to stop
    the upstream stream early."""
    return PayloadStream(reply)


class PayloadStream:
    """The chunk payloads of a stream, decoded; error events raise."""

    def __init__(self, reply: object) -> None:
        if isinstance(reply, SSEStream):
            self._source: AsyncIterator[Any] = reply.chunks
            self._items: AsyncGenerator[dict[str, Any], None] = _sse_payloads(reply.chunks)
        elif hasattr(reply, "__aiter__") and not isinstance(reply, BaseModel | Mapping):
            self._source = reply  # type: ignore[assignment]
            self._items = _payloads(self._source)
        else:
            raise ProviderReplyError("The provider answered with a single reply where a stream was expected.")

    def __aiter__(self) -> PayloadStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        """Stop reading and close the source (and so the upstream stream)."""
        try:
            await self._items.aclose()
        finally:
            close = getattr(self._source, "aclose", None)
            if close is not None:
                await close()

    async def __aenter__(self) -> PayloadStream:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def _payloads(items: AsyncIterator[Any]) -> AsyncGenerator[dict[str, Any], None]:
    async for item in items:
        yield _payload(item, "stream chunk")


def _event_data(event: bytes) -> bytes | None:
    lines = [line[5:] for line in event.splitlines() if line.startswith(b"data:")]
    return b"\n".join(line[1:] if line.startswith(b" ") else line for line in lines) if lines else None


async def _sse_payloads(chunks: AsyncIterator[bytes]) -> AsyncGenerator[dict[str, Any], None]:
    buffer = b""
    async for chunk in chunks:
        *events, buffer = _EVENT_END.split(buffer + chunk)
        for event in events:
            data = _event_data(event)
            if data is None:
                continue
            if data.strip() == b"[DONE]":
                return
            yield _payload(data, "stream event")
    data = _event_data(buffer)
    if data is not None and data.strip() not in (b"", b"[DONE]"):
        yield _payload(data, "stream event")
