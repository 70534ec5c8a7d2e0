"""A test-only plugin (never shipped) using the kernel's cross-cutting seams: a provider-call
wrapper recording every call it sees, and two ordered middlewares tagging responses."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Generator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stack_core import ProviderCall, hookimpl

CALLS: list[tuple[str, str, str, str | None]] = []


class Tag:
    """Adds ``x-tag-<name>: <depth>`` to responses; depth 0 is the outermost plugin middleware."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app, self.name = app, name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tags: list[str] = scope.setdefault("state", {}).setdefault("tags", [])
        depth = len(tags)
        tags.append(self.name)

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message["headers"],
                    (f"x-tag-{self.name}".encode(), str(depth).encode()),
                ]
            await send(message)

        await self.app(scope, receive, tagged)


@hookimpl(wrapper=True)
def stack_provider_call(call: ProviderCall) -> Generator[None, Awaitable[Any], Awaitable[Any]]:
    awaitable = yield

    async def observed() -> Any:
        CALLS.append(
            (call.api, call.method, call.provider_id, call.resource.identifier if call.resource else None)
        )
        return await awaitable

    return observed()


@hookimpl
def stack_register_middleware(register):  # type: ignore[no-untyped-def]
    register(name="inner", factory=functools.partial(Tag, name="inner"), order=20)
    register(name="outer", factory=functools.partial(Tag, name="outer"), order=10)
