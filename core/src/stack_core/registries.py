"""Registry services: list/get/register/unregister of one resource kind, as the current user.

``ResourceService`` serves a kind's registry API (``/v1/models``, ...) and is what
``ProviderContext.registry(plural)`` returns. ``visible``/``checked`` apply the access policy to
resources; ``not_found`` words the 404 that lists what is registered.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .access import Action
from .context import current_user
from .errors import BadRequestError, ConflictError, NotFoundError, PermissionDeniedError
from .fields import brief
from .resources import Resource
from .spec import ResourceKind
from .view import ProviderInstance, StackView

__all__ = ["ResourceService", "checked", "not_found", "same_resource", "visible"]


def not_found(
    kind: ResourceKind, identifier: str, known: list[str], param: str | None = None
) -> NotFoundError:
    listed = ", ".join(sorted(known)[:20]) or "none"
    return NotFoundError(
        f"{kind.singular.replace('_', ' ').capitalize()} '{brief(identifier)}' not found. Registered "
        f"{kind.plural.replace('_', ' ')}: {listed}. Register one with POST {kind.path}.",
        param=param or kind.id_param,
        code=f"{kind.singular}_not_found",
    )


def visible(view: StackView, kind: ResourceKind) -> list[Resource]:
    """The registered resources of ``kind`` the current user may read."""
    user = current_user.get()
    return [r for r in view.registry.list(kind.type) if view.access.allows(user, "read", r)]


def checked(
    view: StackView,
    kind: ResourceKind,
    resource: Resource | None,
    identifier: str,
    action: Action,
    param: str | None = None,
) -> Resource:
    """``resource`` if the current user may ``action`` it. A resource the user cannot read is
    reported as not found; one they can read but not ``action`` is a 403."""
    user = current_user.get()
    policy = view.access
    if resource is not None and (user is None or policy.allows(user, action, resource)):
        return resource
    if resource is not None and action != "read" and policy.allows(user, "read", resource):
        raise PermissionDeniedError(
            f"You may not {action} {kind.singular.replace('_', ' ')} '{brief(identifier)}'.",
            param=kind.id_param,
        )
    raise not_found(kind, identifier, [r.identifier for r in visible(view, kind)], param)


class ResourceService:
    """The registry API of one resource kind."""

    def __init__(self, kind: ResourceKind, view: StackView) -> None:
        self.kind, self.view = kind, view

    def _providers(self) -> dict[str, ProviderInstance]:
        return {i.provider_id: i for i in self.view.instances(self.kind.api)}

    async def list(self) -> dict[str, Any]:
        return {"object": "list", "data": visible(self.view, self.kind)}

    async def lookup(self, identifier: str, action: Action = "read") -> Resource:
        found = await self.view.registry.lookup(self.kind.type, identifier)
        return checked(self.view, self.kind, found, identifier, action)

    async def get(self, request: BaseModel) -> Resource:
        return await self.lookup(getattr(request, self.kind.path_param or self.kind.id_param))

    def _provider_id(self, requested: str | None, resource: Resource) -> str:
        providers = self._providers()
        if requested is None and len(providers) > 1:
            claimed = [
                p for p, i in providers.items() if i.capabilities.claims and i.capabilities.claims(resource)
            ]
            if len(claimed) == 1:
                return claimed[0]
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
        draft = self.kind.build(request, "")
        provider_id = self._provider_id(getattr(request, "provider_id", None), draft)
        resource = draft.model_copy(update={"provider_id": provider_id})
        user = current_user.get()
        if user is not None:
            resource.owner = user
            if not self.view.access.allows(user, "create", resource):
                raise PermissionDeniedError(
                    f"You may not register {self.kind.plural.replace('_', ' ')}.", param=self.kind.id_param
                )
        registry = self.view.registry
        if source == "api":
            existing = await registry.lookup(self.kind.type, resource.identifier)
            if existing is not None:
                return self._registered(existing, resource)
        accept = self._providers()[provider_id].capabilities.register
        if accept is not None:
            accepted = await accept(resource)
            if isinstance(accepted, Resource):
                resource = accepted
        if source != "api":
            await registry.put(resource, source)
        elif not await registry.create(resource, source):
            existing = registry.get(self.kind.type, resource.identifier)
            return self._registered(existing or resource, resource, raced=existing is None)
        return resource

    def _registered(self, existing: Resource, wanted: Resource, raced: bool = False) -> Resource:
        """A registration of a taken identifier: the owner's identical one is idempotent; anything
        else is a 409 that says nothing of the resource or its owner."""
        user = current_user.get()
        owner = existing.owner
        theirs = user is None or (owner is not None and owner.principal == user.principal)
        if theirs and not raced and same_resource(existing, wanted):
            return existing
        raise ConflictError(
            f"{self.kind.singular.replace('_', ' ').capitalize()} '{brief(wanted.identifier)}' is already "
            "registered. Choose another identifier (its owner or an admin can unregister it).",
            param=self.kind.id_param,
            code="already_registered",
        )

    async def unregister(self, request: BaseModel) -> None:
        resource = await self.lookup(getattr(request, self.kind.path_param or self.kind.id_param), "delete")
        provider = self._providers().get(resource.provider_id)
        forget = provider.capabilities.unregister if provider is not None else None
        if forget is not None:
            await forget(resource)
        await self.view.registry.delete(self.kind.type, resource.identifier)


def same_resource(a: Resource, b: Resource) -> bool:
    """Equal but for owner and creation time."""
    skip = {"owner", "created"}
    return a.model_dump(exclude=skip) == b.model_dump(exclude=skip)
