"""Test-only plugins (never shipped) for the kernel's seams.

``ticker``: a direct API streaming named events (``/v1/ticks``, as the Responses API frames them)
and turn events (``/v1/turns``), whose provider records how far each stream got and whether it
was closed (``observer_plugin`` holds the other seams' test plugin).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Protocol

from pydantic import BaseModel

from stack_core import (
    NAMED_EVENTS,
    TURN_EVENTS,
    ApiBinding,
    ApiHandle,
    ApiSpec,
    BadRequestError,
    ConfigModel,
    Handler,
    ProviderContext,
    Route,
    hookimpl,
)


class TickRequest(BaseModel):
    count: int = 3
    fail_at: int | None = None
    delay: float = 0.0


class TickerApi(Protocol):
    async def ticks(self, request: TickRequest) -> AsyncIterator[dict[str, Any]]: ...

    async def turns(self, request: TickRequest) -> AsyncIterator[dict[str, Any]]: ...


TICKER_API = ApiSpec(
    name="ticker",
    protocol=TickerApi,
    routes=(
        Route("POST", "/v1/ticks", "ticks", TickRequest, stream=True, framing=NAMED_EVENTS),
        Route("POST", "/v1/turns", "turns", TickRequest, stream=True, framing=TURN_EVENTS),
    ),
)


class TickerConfig(ConfigModel):
    pass


class Ticker:
    def __init__(self, config: TickerConfig, context: ProviderContext) -> None:
        self.produced = 0
        self.closed = 0

    async def _events(self, request: TickRequest) -> AsyncIterator[int]:
        try:
            for n in range(request.count):
                if n == request.fail_at:
                    raise BadRequestError(f"tick {n} refused", code="tick_refused")
                await asyncio.sleep(request.delay)
                self.produced += 1
                yield n
        finally:
            self.closed += 1

    async def ticks(self, request: TickRequest) -> AsyncIterator[dict[str, Any]]:
        return ({"type": "tick.delta", "n": n} async for n in self._events(request))

    async def turns(self, request: TickRequest) -> AsyncIterator[dict[str, Any]]:
        return (
            {"event": {"payload": {"event_type": "step_progress", "n": n}}}
            async for n in self._events(request)
        )


class SingRequest(BaseModel):
    text: str


class Singer:
    """A chorus member: sings the text in its provider id's voice."""

    def __init__(self, config: TickerConfig, context: ProviderContext) -> None:
        self.name = context.provider_id

    async def sing(self, request: SingRequest) -> dict[str, str]:
        return {"voice": self.name, "text": request.text}


class Chorus:
    """The chorus API's own router: every route fans out to all providers, in config order."""

    def __init__(self, binding: ApiBinding) -> None:
        self.binding = binding

    def handler(self, route: Route) -> Handler:
        members = [self.binding.provider_handler(pid, route) for pid in self.binding.providers]

        async def together(request: SingRequest) -> dict[str, Any]:
            return {"data": [await member(request) for member in members]}

        return together


def sung_loudly(api: ApiHandle) -> Handler:
    """``shout``, a route no singer implements: ``sing``'s reply, upper-cased."""
    sing = api.handler("sing")

    async def shout(request: SingRequest) -> dict[str, Any]:
        sung = await sing(request)
        return {"data": [{**voice, "text": voice["text"].upper()} for voice in sung["data"]]}

    return shout


def sung_softly(api: ApiHandle) -> Handler:
    """``whisper``, named by reference: ``sing`` itself."""
    return api.handler("sing")


CHORUS_API = ApiSpec(
    name="chorus",
    routes=(
        Route("POST", "/v1/chorus", "sing", SingRequest),
        Route("POST", "/v1/chorus/loud", "shout", SingRequest, via=sung_loudly),
        Route("POST", "/v1/chorus/whisper", "whisper", SingRequest, via="seams_plugin:sung_softly"),
    ),
    router=Chorus,
)


@hookimpl
def stack_register_apis(register):  # type: ignore[no-untyped-def]
    register(TICKER_API)
    register(CHORUS_API)


@hookimpl
def stack_register_providers(register):  # type: ignore[no-untyped-def]
    register(api="ticker", provider_type="inline::ticker", config=TickerConfig, factory=Ticker)
    register(api="chorus", provider_type="inline::singer", config=TickerConfig, factory=Singer)
