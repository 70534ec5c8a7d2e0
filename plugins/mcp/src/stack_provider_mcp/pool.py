"""Open MCP sessions, one per endpoint, transport and identity, reused across requests.

Opening a session costs a connection and an ``initialize`` round trip (0.3 to 0.8 s measured against
real servers), so sessions stay open until unused for ``idle_timeout_s``, their group is
unregistered, or the stack stops. The identity in the key is a digest of the user and the headers
in effect, so two users' tokens never share a session. A call whose session turns out to be lost
(the server restarted, forgot the session, closed the stream) is retried once on a new session.
With transport ``auto`` and an endpoint whose path names none, streamable HTTP is tried first and
SSE second; what worked is remembered per endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

from mcp import ClientSession

from .session import McpSession, SessionLost, Target, Timeouts, Wire

T = TypeVar("T")
Key = tuple[str, Wire, str]


def wire_for_path(uri: str) -> Wire | None:
    """The transport an endpoint's path names (``/sse``, ``/mcp``), if it names one."""
    path = uri.split("?", 1)[0].rstrip("/")
    if path.endswith("/sse"):
        return "sse"
    if path.endswith("/mcp"):
        return "streamable_http"
    return None


class SessionPool:
    def __init__(self, timeouts: Timeouts, max_sessions: int) -> None:
        self.timeouts, self.max_sessions = timeouts, max_sessions
        self._sessions: dict[Key, McpSession] = {}
        self._wires: dict[str, Wire] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    async def run(
        self, target: Target, call: Callable[[ClientSession], Awaitable[T]], *, auto: bool = False
    ) -> T:
        """``call`` on the pooled session for ``target`` (opened if needed), retried once on a new
        session if the first is lost. ``auto``: ``target.wire`` is only a first guess.

        Raises ``SessionLost`` (cannot connect, or lost twice), ``TimeoutError`` (connect or call
        past its timeout) or what ``call`` raised."""
        session = await self._open(target, auto)
        try:
            return await session.run(call, self.timeouts.call)
        except SessionLost:
            session.close()
        session = await self._open(target, auto)
        return await session.run(call, self.timeouts.call)

    async def _open(self, target: Target, auto: bool) -> McpSession:
        if not auto:
            return await self._session(target)
        known = self._wires.get(target.uri)
        if known is not None:
            return await self._session(replace(target, wire=known))
        try:
            session = await self._session(target)
        except SessionLost as first:
            other: Wire = "sse" if target.wire == "streamable_http" else "streamable_http"
            try:
                session = await self._session(replace(target, wire=other))
            except SessionLost:
                raise first from None
        self._wires[target.uri] = session.target.wire
        return session

    async def _session(self, target: Target) -> McpSession:
        key = (target.uri, target.wire, target.identity)
        session = self._sessions.get(key)
        if session is None or not session.usable:
            session = self._sessions[key] = McpSession(target, self.timeouts, self._forget)
            self._evict(keep=session)
        await session.ready()
        return session

    def _forget(self, session: McpSession) -> None:
        key = (session.target.uri, session.target.wire, session.target.identity)
        if self._sessions.get(key) is session:
            del self._sessions[key]

    def _evict(self, keep: McpSession) -> None:
        idle = [s for s in self._sessions.values() if not s.active and s is not keep]
        idle.sort(key=lambda s: s.last_used)
        for session in idle[: max(0, len(self._sessions) - self.max_sessions)]:
            session.close()

    async def close_endpoint(self, uri: str) -> None:
        """Close every session to ``uri`` (its group was unregistered)."""
        await self._close([s for key, s in self._sessions.items() if key[0] == uri])
        self._wires.pop(uri, None)

    async def aclose(self) -> None:
        await self._close(list(self._sessions.values()))

    async def _close(self, sessions: list[McpSession]) -> None:
        await asyncio.gather(*(s.aclose() for s in sessions))
