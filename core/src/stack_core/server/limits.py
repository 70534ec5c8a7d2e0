"""What one client may hold of the server: concurrent requests, body size, time to send a body.

Hypercorn closes a connection that has not sent a whole request head within
``keep_alive_timeout``; once the head is in, the connection is the app's until the response ends,
so a client that drips a body (1 byte/s) or opens thousands of such requests could exhaust the
process's file descriptors. ``LimitsMiddleware`` counts requests in flight, in all and per client
address, and answers 503 past either cap without reading the body (Hypercorn then closes the
connection); gives each body a deadline (408); and refuses a body over the limit with 413 — from
its ``Content-Length`` before reading anything, or as soon as a chunked body passes the limit.
Multipart bodies (uploads, spooled to disk by the form parser) have a limit of their own.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import ServerConfig
from ..errors import OverloadedError, PayloadTooLargeError, RequestTimeoutError

__all__ = ["LimitsMiddleware"]

MULTIPART = b"multipart/form-data"


class LimitsMiddleware:
    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app, self.config = app, config
        self.in_flight = 0
        self.per_client: Counter[str] = Counter()

    def _admit(self, client: str) -> None:
        config = self.config
        if self.in_flight >= config.max_connections:
            raise OverloadedError(
                "The server is serving as many requests as it may; retry shortly.",
                headers={"retry-after": "1"},
            )
        per_client = config.max_connections_per_client
        if per_client and self.per_client[client] >= per_client:
            raise OverloadedError(
                f"Too many requests in flight from your address (at most {per_client}); retry shortly.",
                headers={"retry-after": "1"},
            )

    def _body_limit(self, scope: Scope) -> tuple[int, int | None]:
        """The byte limit for this request's body, and its declared length."""
        limit, length = self.config.max_request_bytes, None
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = int(value) if value.isdigit() else None
            elif key == b"content-type" and value.startswith(MULTIPART):
                limit = self.config.max_upload_bytes
        return limit, length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, length = self._body_limit(scope)
        if length is not None and length > limit:
            raise _too_large(limit)
        client = scope["client"][0] if scope.get("client") else ""
        self._admit(client)
        deadline = asyncio.get_running_loop().time() + self.config.body_timeout
        received, complete = 0, False

        async def bounded_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeoutError(
                    f"The request body was not sent within {self.config.body_timeout:g} s."
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
                complete = not message.get("more_body", False)
            return message

        self.in_flight += 1
        self.per_client[client] += 1
        try:
            await self.app(scope, bounded_receive, send)
        finally:
            self.in_flight -= 1
            self.per_client[client] -= 1
            if not self.per_client[client]:
                del self.per_client[client]


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"The request body is larger than this server accepts ({limit} bytes).", code="request_too_large"
    )
