"""Routing: registry services for resource kinds, and the router that federates a routed API.

``ResourceService`` implements list/get/register/unregister for one kind. ``Router`` serves a
routed API (inference, safety, ...) by looking up the resource a request names and calling the
provider that owns it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .access import Action
from .context import current_user, routed_resource
from .errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ProviderUnavailableError,
)
from .resources import Resource
from .spec import ApiSpec, ResourceKind, Route

if TYPE_CHECKING:
    from .stack import Stack

__all__ = ["ResourceService", "Router", "checked", "not_found", "same_resource", "visible"]


def not_found(
    kind: ResourceKind, identifier: str, known: list[str], param: str | None = None
) -> NotFoundError:
    listed = ", ".join(sorted(known)[:20]) or "none"
    return NotFoundError(
        f"{kind.singular.replace('_', ' ').capitalize()} '{identifier}' not found. Registered "
        f"{kind.plural.replace('_', ' ')}: {listed}. Register one with POST {kind.path}.",
        param=param or kind.id_param,
        code=f"{kind.singular}_not_found",
    )


def visible(stack: Stack, kind: ResourceKind) -> list[Resource]:
    """The registered resources of ``kind`` the current user may read."""
    user = current_user.get()
    return [r for r in stack.registry.list(kind.type) if stack.access.allows(user, "read", r)]


def checked(
    stack: Stack,
    kind: ResourceKind,
    resource: Resource | None,
    identifier: str,
    action: Action,
    param: str | None = None,
) -> Resource:
    """``resource`` if the current user may ``action`` it. A resource the user cannot read is
    reported as not found; one they can read but not ``action`` is a 403."""
    user = current_user.get()
    policy = stack.access
    if resource is not None and (user is None or policy.allows(user, action, resource)):
        return resource
    if resource is not None and action != "read" and policy.allows(user, "read", resource):
        raise PermissionDeniedError(
            f"You may not {action} {kind.singular.replace('_', ' ')} '{identifier}'.", param=kind.id_param
        )
    raise not_found(kind, identifier, [r.identifier for r in visible(stack, kind)], param)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class ResourceService:
    """The registry API of one resource kind."""

    def __init__(self, kind: ResourceKind, stack: Stack) -> None:
        self.kind, self.stack = kind, stack

    def _providers(self) -> Mapping[str, object]:
        return self.stack.providers_of(self.kind.api)

    async def list(self) -> dict[str, Any]:
        return {"object": "list", "data": visible(self.stack, self.kind)}

    async def lookup(self, identifier: str, action: Action = "read") -> Resource:
        found = await self.stack.registry.lookup(self.kind.type, identifier)
        return checked(self.stack, self.kind, found, identifier, action)

    async def get(self, request: BaseModel) -> Resource:
        return await self.lookup(getattr(request, self.kind.path_param or self.kind.id_param))

    def _provider_id(self, requested: str | None) -> str:
        providers = self._providers()
        if requested is not None:
            if requested not in providers:
                raise BadRequestError(
                    f"Provider '{requested}' does not serve {self.kind.api}. Providers that do: "
                    f"{', '.join(sorted(providers)) or 'none are configured'}.",
                    param="provider_id",
                )
            return requested
        if len(providers) == 1:
            return next(iter(providers))
        raise BadRequestError(
            f"provider_id is required: several {self.kind.api} providers are configured "
            f"({', '.join(sorted(providers))})."
            if providers
            else f"No {self.kind.api} provider is configured; add one to the run config's providers.",
            param="provider_id",
        )

    async def register(self, request: BaseModel, *, source: str = "api") -> Resource:
        provider_id = self._provider_id(getattr(request, "provider_id", None))
        resource = self.kind.build(request, provider_id)
        user = current_user.get()
        if user is not None:
            resource.owner = user
            if not self.stack.access.allows(user, "create", resource):
                raise PermissionDeniedError(
                    f"You may not register {self.kind.plural.replace('_', ' ')}.", param=self.kind.id_param
                )
        existing = self.stack.registry.get(self.kind.type, resource.identifier)
        if existing is not None and source == "api":
            if same_resource(existing, resource):
                return existing
            raise ConflictError(
                f"{self.kind.singular.replace('_', ' ').capitalize()} '{resource.identifier}' is already "
                f"registered with provider '{existing.provider_id}'. Unregister it first "
                f"(DELETE {self.kind.path}/{resource.identifier}).",
                param=self.kind.id_param,
            )
        hook = getattr(self._providers()[provider_id], f"register_{self.kind.singular}", None)
        if hook is not None:
            accepted = await _maybe_await(hook(resource))
            if isinstance(accepted, Resource):
                resource = accepted
        await self.stack.registry.put(resource, source)
        return resource

    async def unregister(self, request: BaseModel) -> None:
        resource = await self.lookup(getattr(request, self.kind.path_param or self.kind.id_param), "delete")
        provider = self._providers().get(resource.provider_id)
        hook = getattr(provider, f"unregister_{self.kind.singular}", None)
        if hook is not None:
            await _maybe_await(hook(resource))
        await self.stack.registry.delete(self.kind.type, resource.identifier)


def same_resource(a: Resource, b: Resource) -> bool:
    """Equal but for owner and creation time."""
    skip = {"owner", "created"}
    return a.model_dump(exclude=skip) == b.model_dump(exclude=skip)


Handler = Callable[[BaseModel], Awaitable[Any]]


class Router:
    """Serves a routed API by dispatching each call to the provider owning the named resource.

    The request's routing field is rewritten to the provider's own name for the resource
    (``provider_resource_id``) when the two differ.
    """

    def __init__(self, spec: ApiSpec, stack: Stack, providers: Mapping[str, object]) -> None:
        assert spec.resource is not None
        self.spec, self.kind, self.stack, self.providers = spec, spec.resource, stack, dict(providers)
        for route in spec.routes:
            setattr(self, route.name, self._handler(route))

    async def resolve(self, identifier: str, param: str | None = None) -> tuple[Resource, object]:
        """The resource and the provider object that serves it."""
        resource = self.stack.registry.get(self.kind.type, identifier) or await self.stack.registry.lookup(
            self.kind.type, identifier
        )
        if resource is None or resource.owner is not None or self.stack.access.rules:
            resource = checked(self.stack, self.kind, resource, identifier, "use", param)
        provider = self.providers.get(resource.provider_id)
        if provider is None:
            raise ProviderUnavailableError(
                f"Provider '{resource.provider_id}' serving {self.kind.singular} '{identifier}' is not "
                "running.",
                provider_id=resource.provider_id,
            )
        return resource, provider

    def _only(self, param: str) -> str:
        """The one resource a request that names none goes to (an optional routing field, such as
        OpenAI's moderations ``model``); with several the caller must choose."""
        names = sorted(r.identifier for r in visible(self.stack, self.kind))
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

    def _handler(self, route: Route) -> Handler:
        key, name = route.routing_key, route.name
        if key is None:
            return self._unrouted(route)

        async def routed(request: BaseModel) -> Any:
            resource, provider = await self.resolve(getattr(request, key) or self._only(key), key)
            if resource.provider_resource_id != getattr(request, key):
                request = request.model_copy(update={key: resource.provider_resource_id})
            token = routed_resource.set(resource)
            try:
                return await getattr(provider, name)(request)
            finally:
                routed_resource.reset(token)

        return routed

    def _unrouted(self, route: Route) -> Handler:
        name = route.name

        async def unrouted(request: BaseModel) -> Any:
            wanted = getattr(request, "provider_id", None)
            if wanted is None and len(self.providers) == 1:
                wanted = next(iter(self.providers))
            provider = self.providers.get(wanted) if wanted else None
            if provider is None:
                raise BadRequestError(
                    f"provider_id is required for {route.method} {route.path}; "
                    f"{self.spec.name} providers: {', '.join(sorted(self.providers))}.",
                    param="provider_id",
                )
            return await getattr(provider, name)(request)

        return unrouted
