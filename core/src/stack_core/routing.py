"""Dispatch: one handler per served route, built once at start-up.

For each API the stack serves, a dispatcher gives every route its handler:

- ``RoutedApi`` (an API with a resource kind: inference → Model): look the named resource up,
  check the current user may use it, call the owning provider with the request's routing field
  rewritten to the provider's own id for it; routes without a routing key go to the provider the
  request names (or the only one);
- ``DirectApi``: the one provider of an unrouted API;
- ``KernelApi``: a kernel-served API's service object;
- an ``ApiSpec.router``: the API's own dispatch, given an ``ApiBinding``.

Provider methods are bound when the handler is built, so the request path looks nothing up by
name. ``ProviderCalls`` puts the ``stack_provider_call`` hook around each provider method only
when a plugin wraps that hook; otherwise the handler calls the bound method itself.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from .calls import Handler, ProviderCall
from .context import routed_resource
from .errors import BadRequestError, PluginError, ProviderUnavailableError, StackError
from .registries import checked, visible
from .resources import Resource
from .spec import ApiSpec, Route, resolved
from .view import StackView

__all__ = [
    "ApiBinding",
    "ApiDispatch",
    "DirectApi",
    "KernelApi",
    "ProviderCalls",
    "RouteSlot",
    "RoutedApi",
    "ServedApi",
]

HookCall = Callable[..., Awaitable[Any]]


class ProviderCalls:
    """Makes provider methods into handlers: the bound method itself, or, when a plugin wraps the
    ``stack_provider_call`` hook, a call through that hook with a ``ProviderCall``."""

    def __init__(self, hook: HookCall | None = None) -> None:
        self.hook = hook

    def __call__(self, api: str, provider_id: str, route: Route, method: Handler, *, routed: bool) -> Handler:
        hook = self.hook
        if hook is None:
            return method
        name = route.name

        async def wrapped(request: Any) -> Any:
            resource = routed_resource.get() if routed else None
            invoke = functools.partial(method, request)
            return await hook(call=ProviderCall(api, name, provider_id, resource, request, invoke))

        return wrapped


@dataclass(frozen=True)
class ApiBinding:
    """What a dispatcher is built from: the API, its providers (id → implementation, in run-config
    order), the stack as its services see it, and how provider methods become handlers."""

    spec: ApiSpec
    providers: Mapping[str, object]
    view: StackView
    calls: ProviderCalls

    def provider_handler(self, provider_id: str, route: Route, *, routed: bool = False) -> Handler:
        """The handler calling ``route`` on one provider (its method of the route's name, which
        the start-up protocol check guarantees)."""
        method = getattr(self.providers[provider_id], route.name, None)
        if not callable(method):
            raise PluginError(
                f"provider '{provider_id}' of API '{self.spec.name}' has no method {route.name}() "
                f"for {route.method} {route.path}"
            )
        return self.calls(self.spec.name, provider_id, route, method, routed=routed)


class ApiDispatch(Protocol):
    def handler(self, route: Route) -> Handler:
        """The handler of one of the API's routes, built at start-up."""
        ...


class KernelApi:
    """A kernel-served API: each route is its service's method of the route's name."""

    def __init__(self, service: object) -> None:
        self.service = service

    def handler(self, route: Route) -> Handler:
        method = getattr(self.service, route.name, None)
        if not callable(method):
            raise PluginError(f"kernel service {type(self.service).__name__} has no method {route.name}()")
        handler: Handler = method
        return handler


class DirectApi:
    """An unrouted API served by one provider."""

    def __init__(self, binding: ApiBinding) -> None:
        if len(binding.providers) != 1:
            raise PluginError(f"API '{binding.spec.name}' is served directly by exactly one provider")
        self.binding = binding
        self.provider_id = next(iter(binding.providers))

    def handler(self, route: Route) -> Handler:
        return self.binding.provider_handler(self.provider_id, route)


class RoutedApi:
    """Federation: each call goes to the provider owning the resource the request names."""

    def __init__(self, binding: ApiBinding) -> None:
        kind = binding.spec.resource
        if kind is None:
            raise PluginError(f"API '{binding.spec.name}' has no resource kind to route by")
        self.binding, self.kind, self.view = binding, kind, binding.view

    async def resolve(self, identifier: str, param: str | None = None) -> Resource:
        """The resource, if the current user may use it and its provider is running."""
        registry = self.view.registry
        resource = registry.get(self.kind.type, identifier) or await registry.lookup(
            self.kind.type, identifier
        )
        if resource is None or resource.owner is not None or self.view.access.rules:
            resource = checked(self.view, self.kind, resource, identifier, "use", param)
        if resource.provider_id not in self.binding.providers:
            raise ProviderUnavailableError(
                f"Provider '{resource.provider_id}' serving {self.kind.singular} '{identifier}' is not "
                "running.",
                provider_id=resource.provider_id,
            )
        return resource

    def _only(self, param: str) -> str:
        """The one resource a request that names none goes to (an optional routing field, such as
        OpenAI's moderations ``model``); with several the caller must choose."""
        names = sorted(r.identifier for r in visible(self.view, self.kind))
        if len(names) == 1:
            return names[0]
        plural = self.kind.plural.replace("_", " ")
        raise BadRequestError(
            f"'{param}' is required: name one of the registered {plural} ({', '.join(names)})."
            if names
            else f"'{param}' names no {self.kind.singular.replace('_', ' ')} and none is registered; "
            f"register one with POST {self.kind.path}.",
            param=param,
        )

    def handler(self, route: Route) -> Handler:
        key = route.routing_key
        routed = key is not None
        methods = {
            pid: self.binding.provider_handler(pid, route, routed=routed) for pid in self.binding.providers
        }
        if key is None:
            return self._unrouted(route, methods)
        resolve, only = self.resolve, self._only

        async def routed_call(request: BaseModel) -> Any:
            named = getattr(request, key)
            resource = await resolve(named or only(key), key)
            if resource.provider_resource_id != named:
                request = request.model_copy(update={key: resource.provider_resource_id})
            token = routed_resource.set(resource)
            try:
                return await methods[resource.provider_id](request)
            finally:
                routed_resource.reset(token)

        return routed_call

    def _unrouted(self, route: Route, methods: Mapping[str, Handler]) -> Handler:
        only = next(iter(methods)) if len(methods) == 1 else None
        api = self.binding.spec.name

        async def unrouted(request: Any) -> Any:
            wanted = getattr(request, "provider_id", None) or only
            method = methods.get(wanted) if wanted else None
            if method is None:
                raise BadRequestError(
                    f"provider_id is required for {route.method} {route.path}; "
                    f"{api} providers: {', '.join(sorted(methods))}.",
                    param="provider_id",
                )
            return await method(request)

        return unrouted


class ServedApi:
    """A served API's handlers by route name: the ``ApiHandle`` providers depending on it get.

    Routes with a ``via`` are built last, from this handle, on top of the dispatched ones."""

    def __init__(self, spec: ApiSpec, providers: Mapping[str, object], dispatch: ApiDispatch) -> None:
        self.spec, self._providers = spec, dict(providers)
        self.handlers: dict[str, Handler] = {
            route.name: dispatch.handler(route) for route in spec.routes if route.via is None
        }
        for route in spec.routes:
            if route.via is not None:
                self.handlers[route.name] = self._built_via(route, route.via)

    def _built_via(self, route: Route, via: object) -> Handler:
        who = f"API '{self.spec.name}' route {route.method} {route.path}"
        build = resolved(via, who)
        handler = build(self) if callable(build) else None
        if not callable(handler):
            raise PluginError(f"{who}: via {via!r} does not build a handler from the served API")
        built: Handler = handler
        return built

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def providers(self) -> Mapping[str, object]:
        return self._providers

    def handler(self, route: str) -> Handler:
        found = self.handlers.get(route)
        if found is None:
            raise PluginError(
                f"API '{self.spec.name}' has no route named {route!r} (it has {sorted(self.handlers)})"
            )
        return found


async def _not_started(_: Any) -> Any:
    raise StackError("The stack is not started.")


class RouteSlot:
    """Where an HTTP endpoint finds its route's handler: created when the app is built, filled
    when the stack starts."""

    __slots__ = ("handler",)

    def __init__(self) -> None:
        self.handler: Handler = _not_started
