"""The shapes of a call into an API: handlers, API handles and provider calls.

A *handler* is the callable one route is served by, built once at start-up: it takes the route's
request model and returns the provider's reply (or, on a streaming route, a stream). An
``ApiHandle`` is an API as another provider calls it in-process: the same handlers the HTTP
routes use, so access rules and provider-call wrappers apply alike. A ``ProviderCall`` is what the
``stack_provider_call`` hook wrappers see of each call to a provider.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .resources import Resource

__all__ = ["ApiHandle", "Handler", "ProviderCall"]

Handler = Callable[..., Awaitable[Any]]


class ApiHandle(Protocol):
    """A served API, for in-process calls (``ProviderContext.deps``; the typed clients wrap it)."""

    @property
    def name(self) -> str: ...

    @property
    def providers(self) -> Mapping[str, object]:
        """The API's providers by provider id, in run-config order."""
        ...

    def handler(self, route: str) -> Handler:
        """The handler of the route named ``route`` (a ``Route.name`` of the API's spec); look it
        up once, when the caller is built."""
        ...


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One call to a provider, as a ``stack_provider_call`` hook wrapper sees it.

    ``resource`` is the resource the call was routed on (None for unrouted calls); ``request`` the
    request model as the provider receives it. ``invoke()`` makes the call: it returns the
    provider's awaitable, whose result is the reply or, on a streaming route, the stream.
    """

    api: str
    method: str
    provider_id: str
    resource: Resource | None
    request: Any
    invoke: Callable[[], Awaitable[Any]]
