"""Turning one ``Route`` declaration into a Starlette endpoint.

The request model is built from path parameters, the query string (GET/DELETE) and the JSON body,
and handed to the route's handler (found in its ``RouteSlot``, filled at start-up). The result is
rendered by type: pydantic model → JSON, dict/list → JSON, ``bytes`` → pre-encoded JSON passed
through, a Starlette ``Response`` as is, an ``SSEStream`` relayed verbatim, an async iterator on a
streaming route → SSE in the route's declared framing (``stack_core.framing``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ..errors import BadRequestError
from ..framing import Framing, json_bytes
from ..payloads import BinaryContent, FileUpload, SSEStream
from ..routing import RouteSlot
from ..spec import Route
from .errors import error_response, validation_error

__all__ = ["AsgiEndpoint", "make_endpoint"]

log = logging.getLogger("stack.server")
JSON = "application/json"
DONE = b"data: [DONE]\n\n"
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
Endpoint = Callable[[Request], Awaitable[Response]]


def _list_fields(model: type[BaseModel] | None) -> frozenset[str]:
    if model is None:
        return frozenset()
    found = set()
    for name, info in model.model_fields.items():
        origin = typing.get_origin(info.annotation)
        args = typing.get_args(info.annotation)
        if origin is list or any(typing.get_origin(a) is list for a in args):
            found.add(name)
    return frozenset(found)


async def _sse(items: AsyncIterator[Any], framing: Framing, request_id: str) -> AsyncIterator[bytes]:
    """Frame ``items``; an error ends the stream with the framing's error event. Closing this
    stream (the client left) closes ``items``, which stops their producer."""
    try:
        async for item in items:
            yield framing.event(item)
    except Exception as exc:  # error_response logs what is not a StackError
        body = orjson.loads(error_response(exc, request_id).body)
        yield framing.error(body)
        return
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
    if framing.end:
        yield framing.end


class EventStream(StreamingResponse):
    """An SSE response, relayed chunk by chunk until done or until the client disconnects; then
    ``chunks`` is closed, which closes the upstream stream it reads.

    Starlette's ``StreamingResponse`` watches for the disconnect (on servers of ASGI spec < 2.4, such
    as Hypercorn) in an anyio task group per response, ~40 µs; a plain task does the same here.
    """

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        super().__init__(chunks, media_type="text/event-stream", headers=SSE_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        relaying, gone = True, False
        streaming = asyncio.current_task()
        assert streaming is not None

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            if relaying:
                streaming.cancel()

        watcher = asyncio.create_task(watch())
        chunks = typing.cast(AsyncIterator[bytes], self.body_iterator)
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            relaying = False
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone:
                raise
            streaming.uncancel()
        except OSError:  # servers of ASGI spec >= 2.4 raise on a closed connection
            pass
        finally:
            relaying = False
            watcher.cancel()
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` for ``filename`` (RFC 6266): an ASCII fallback, and the exact name
    percent-encoded as UTF-8 in ``filename*``."""
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def render(route: Route, result: Any, request_id: str, framing: Framing) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204)
    if isinstance(result, bytes):
        return Response(result, status_code=route.status_code, media_type=JSON)
    if isinstance(result, BinaryContent):
        headers = {"content-disposition": attachment(result.filename)} if result.filename else None
        return Response(result.data, media_type=result.media_type, headers=headers)
    if isinstance(result, SSEStream):
        return EventStream(framing.relay(result.chunks) if framing.relay else result.chunks)
    if route.stream and hasattr(result, "__aiter__"):
        return EventStream(_sse(result, framing, request_id))
    return Response(json_bytes(result), status_code=route.status_code, media_type=JSON)


async def _read_json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(f"Request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequestError("Request body must be a JSON object.", code="invalid_json")
    return data


class AsgiEndpoint:
    """A request/response endpoint as a bare ASGI app: Starlette mounts it without its own
    per-route request/exception wrappers (errors are mapped by the kernel middleware).
    ``template`` is its route's declared path: middleware reads it from ``scope["endpoint"]`` once
    the router matched, to name the route without the request's ids (logs, spans, metrics)."""

    __slots__ = ("handler", "template")

    def __init__(self, handler: Endpoint, template: str = "") -> None:
        self.handler, self.template = handler, template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)


@contextlib.asynccontextmanager
async def _read_form(request: Request) -> AsyncIterator[dict[str, Any]]:
    """Multipart form fields; file parts become ``FileUpload`` objects over the parser's spooled
    files, which stay open until the block ends."""
    from starlette.datastructures import UploadFile

    form = await request.form()
    try:
        data: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                await value.seek(0)
                media_type = value.content_type or "application/octet-stream"
                data[key] = FileUpload(value.filename or "upload", media_type, value.file, value.size or 0)
            else:
                data[key] = value
        yield data
    finally:
        await form.close()


def _parse(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def make_endpoint(route: Route, slot: RouteSlot, framing: Framing | None = None) -> Endpoint:
    """An endpoint calling the route's handler (``slot.handler``) with the built request model;
    streams are framed with ``framing`` (default: the route's)."""
    framed = framing or route.framing
    model = route.request
    lists = _list_fields(model)
    from_query = route.method in ("GET", "DELETE")

    async def endpoint(request: Request) -> Response:
        method = slot.handler
        request_id = request.scope.get("state", {}).get("request_id", "")
        if model is None:
            return render(route, await method(), request_id, framed)
        if route.raw_body:
            return render(route, await method(request), request_id, framed)
        if not from_query and request.headers.get("content-type", "").startswith(FORM_TYPES):
            async with _read_form(request) as form:
                parsed = _parse(model, {**form, **request.path_params})
                return render(route, await method(parsed), request_id, framed)
        try:
            if from_query:
                query = request.query_params
                data: dict[str, Any] = {k: (query.getlist(k) if k in lists else v) for k, v in query.items()}
            elif not request.path_params:
                body = await request.body()
                parsed = model.model_validate_json(body or b"{}")
                return render(route, await method(parsed), request_id, framed)
            else:
                data = await _read_json(request)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                raise BadRequestError("Request body is not valid JSON.", code="invalid_json") from None
            raise validation_error(exc) from None
        data.update(request.path_params)
        return render(route, await method(_parse(model, data)), request_id, framed)

    return endpoint
