"""One MCP client session kept open, owned by a task of its own.

The ``mcp`` client's transports and ``ClientSession`` are anyio context managers whose cancel
scopes must be entered and exited by the same task, so a request handler cannot open one and
leave it to the next request. Each ``McpSession`` therefore has an owner task that enters the
transport and the session (one ``AsyncExitStack``), then waits until it is told to close, goes
idle, or loses its connection, and exits them itself.

Requests from any task run as jobs in the owner's task group, inside the transport's cancel
scope: when the connection dies every job is cancelled and its caller gets ``SessionLost`` at
once, not after a timeout. A caller that stops waiting (its timeout) cancels its job. The
transport's incoming stream is relayed to the ``ClientSession`` through the owner, so a stream
the server ends (e.g. an SSE server restarting) closes the session even with no call in flight;
over streamable HTTP, a response that breaks off mid-body closes it too (the ``mcp`` client would
drop that request silently and leave its caller waiting).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import anyio
import httpx
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp import ClientSession, McpError
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage
from mcp.types import CONNECTION_CLOSED, Implementation

T = TypeVar("T")
Wire = Literal["sse", "streamable_http"]
Incoming = SessionMessage | Exception
Streams = tuple[MemoryObjectReceiveStream[Incoming], MemoryObjectSendStream[SessionMessage]]

CLIENT = Implementation(name="stack", version="0.1.0")
SESSION_TERMINATED = 32600  # what the streamable HTTP client answers when the server forgot the session
_LOST = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)


@dataclass(frozen=True)
class Target:
    """Where and as whom a session connects. ``identity`` (a digest of the user and the headers)
    keys the pool; the headers themselves are only handed to the transport."""

    uri: str
    wire: Wire
    headers: Mapping[str, str]
    identity: str

    def __repr__(self) -> str:  # never show the headers
        return f"Target({self.uri!r}, {self.wire}, identity={self.identity[:12]})"


@dataclass(frozen=True)
class Timeouts:
    connect: float
    call: float
    idle: float


class SessionLost(Exception):
    """The session's connection failed or closed; ``cause`` is why, when known."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__(describe(cause) if cause is not None else "the session closed")
        self.cause = cause


def describe(exc: BaseException) -> str:
    """One line for an error, the first leaf of an exception group, never request headers."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, SessionLost) and exc.cause is not None:
        return describe(exc.cause)
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} {exc.response.reason_phrase}".rstrip()
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def lost(exc: BaseException) -> bool:
    """Whether a request failed because the session, not the tool, failed."""
    if isinstance(exc, McpError):
        return exc.error.code in (CONNECTION_CLOSED, SESSION_TERMINATED)
    return isinstance(exc, _LOST)


def transport(
    target: Target, timeouts: Timeouts, on_break: Callable[[Exception], None]
) -> AbstractAsyncContextManager[Streams]:
    # Reads may wait as long as the stack lets a call or an idle session wait; the stack's own
    # timeouts end them first.
    read = timeouts.call + timeouts.idle
    if target.wire == "sse":
        return sse_client(
            target.uri, headers=dict(target.headers), timeout=timeouts.connect, sse_read_timeout=read
        )
    return _streamable_http(target, httpx.Timeout(timeouts.connect, read=read), on_break)


@asynccontextmanager
async def _streamable_http(
    target: Target, limits: httpx.Timeout, on_break: Callable[[Exception], None]
) -> AsyncIterator[Streams]:
    watched = _Watched(httpx.AsyncHTTPTransport(), on_break)
    async with (
        httpx.AsyncClient(headers=dict(target.headers), timeout=limits, transport=watched) as http,
        streamable_http_client(target.uri, http_client=http) as (read, write, _),
    ):
        yield read, write


class _Watched(httpx.AsyncBaseTransport):
    """A transport reporting a response that breaks off mid-body (the server went away while
    answering): the streamable HTTP client drops such a request silently, to wait forever."""

    def __init__(self, inner: httpx.AsyncBaseTransport, on_break: Callable[[Exception], None]) -> None:
        self._inner, self._on_break = inner, on_break

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_WatchedStream(response.stream, self._on_break),
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _WatchedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, on_break: Callable[[Exception], None]) -> None:
        self._inner, self._on_break = inner, on_break

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.TransportError as exc:
            self._on_break(exc)
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()


class McpSession:
    """An open session, or one being opened: ``await ready()`` before ``run(...)``."""

    def __init__(self, target: Target, timeouts: Timeouts, on_closed: Callable[[McpSession], None]) -> None:
        self.target, self.timeouts, self._on_closed = target, timeouts, on_closed
        loop = asyncio.get_running_loop()
        self.last_used = loop.time()
        self.closed = False
        self.active = 0
        self._ready: asyncio.Future[None] = loop.create_future()
        self._pending: set[asyncio.Future[Any]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._ended: BaseException | None = None
        self._client: ClientSession | None = None
        self._group: TaskGroup | None = None
        # A context of its own: the session must not carry the opening request's user.
        self._task = loop.create_task(self._own(), name=f"mcp {target}", context=contextvars.Context())

    @property
    def usable(self) -> bool:
        return not self.closed and not self._stopping

    async def ready(self) -> None:
        """Wait until open; ``SessionLost`` if opening failed, ``TimeoutError`` past the connect timeout."""
        try:
            async with asyncio.timeout(self.timeouts.connect):
                await asyncio.shield(self._ready)
        except TimeoutError:
            self.close()
            raise

    async def run(self, call: Callable[[ClientSession], Awaitable[T]], within: float) -> T:
        """Run ``call`` on the session within ``within`` seconds (``TimeoutError`` past it). Errors of the
        call come back as raised; a lost connection as ``SessionLost``."""
        group, client = self._group, self._client
        if group is None or client is None or not self.usable:
            raise SessionLost(self._ended)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.add(future)
        self.active += 1
        try:
            try:
                group.start_soon(self._job, client, call, future)
            except RuntimeError:  # the owner is already leaving the task group
                raise SessionLost(self._ended) from None
            async with asyncio.timeout(within):
                return await future
        finally:
            self.active -= 1
            self._pending.discard(future)
            self.last_used = asyncio.get_running_loop().time()
            self._wake.set()

    async def _job(
        self, client: ClientSession, call: Callable[[ClientSession], Awaitable[T]], future: asyncio.Future[T]
    ) -> None:
        scope = anyio.CancelScope()
        future.add_done_callback(lambda f: scope.cancel() if f.cancelled() else None)
        with scope:
            try:
                result = await call(client)
            except Exception as exc:
                if lost(exc):
                    self._stop()
                    exc = SessionLost(exc)
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)

    def close(self) -> None:
        """Ask the owner to close the session (in-flight calls are cancelled); one still opening
        is cancelled where it waits. It leaves the pool at once."""
        if self._ready.done():
            self._stop()
        else:
            self._task.cancel()
        self._on_closed(self)

    async def aclose(self, grace: float = 5.0) -> None:
        """Close and wait for the owner to exit its contexts (cancelled past ``grace``)."""
        self.close()
        done, _ = await asyncio.wait({self._task}, timeout=grace)
        if not done:
            self._task.cancel()
            await asyncio.wait({self._task})

    def _stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def _broke(self, exc: Exception) -> None:
        self._ended = exc
        self._stop()

    # -- the owner task ------------------------------------------------------------------------

    async def _own(self) -> None:
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(
                    transport(self.target, self.timeouts, self._broke)
                )
                group = await stack.enter_async_context(anyio.create_task_group())
                stack.callback(group.cancel_scope.cancel)
                relayed, relay_out = _relay_streams()
                for stream in (read, relayed, relay_out):  # closed even if no task got to them
                    stack.push_async_callback(stream.aclose)
                group.start_soon(self._relay, read, relay_out)
                client = await stack.enter_async_context(ClientSession(relayed, write, client_info=CLIENT))
                await _initialize(client)
                self._client, self._group = client, group
                self._ready.set_result(None)
                await self._serve()
                self._group = None
        except Exception as exc:
            self._ended = exc
        finally:
            self._finish()

    async def _serve(self) -> None:
        """Until asked to stop, the stream ends, or no call came for the idle timeout."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            remaining = (
                self.timeouts.idle if self.active else self.last_used + self.timeouts.idle - loop.time()
            )
            if remaining <= 0:
                break
            self._wake.clear()
            with anyio.move_on_after(remaining):
                await self._wake.wait()
        self.closed = True

    async def _relay(
        self, source: MemoryObjectReceiveStream[Incoming], sink: MemoryObjectSendStream[Incoming]
    ) -> None:
        async with source, sink:
            async for item in source:
                if isinstance(item, Exception):
                    self._ended = item
                await sink.send(item)
        self._stop()  # the server ended the stream: the session cannot answer any more

    def _finish(self) -> None:
        self.closed = True
        self._client = self._group = None
        error = SessionLost(self._ended)
        if not self._ready.done():
            self._ready.set_exception(error)
            self._ready.exception()  # retrieved: a failed opening nobody awaits is not an error
        for future in self._pending:
            if not future.done():
                future.set_exception(error)
        self._on_closed(self)


async def _initialize(client: ClientSession) -> None:
    try:
        await client.initialize()
    except McpError as exc:
        if exc.error.code == SESSION_TERMINATED:  # how the client reports a 404 to its first POST
            raise ConnectionError("HTTP 404 Not Found: no MCP endpoint at this URL") from None
        raise


def _relay_streams() -> tuple[MemoryObjectReceiveStream[Incoming], MemoryObjectSendStream[Incoming]]:
    send, receive = anyio.create_memory_object_stream[Incoming](0)
    return receive, send
