"""Optional provider capabilities, as typed Protocols checked once at start-up.

Besides its API's protocol a provider may implement:

- ``HealthCheck.health()``: reported by ``/v1/providers``;
- ``Closable.shutdown()``: called when the stack stops;
- for the resource kind its API routes by, the kind's ``lister`` (report what it serves, e.g.
  ``ModelLister.list_models()``), ``registrar`` (accept, amend or refuse a registration,
  ``register_model(model)``), ``unregistrar`` and ``claimer`` (which provider a registration naming
  none goes to) Protocols (``stack_core.apis.resources``).

Each is a one-method ``runtime_checkable`` Protocol. ``Capabilities.of`` checks a provider against
them with ``isinstance`` and keeps the bound methods it found, so nothing is looked up by a name
built from strings, and nothing is looked up at all after start-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .resources import Resource
from .spec import ResourceKind, protocol_methods

__all__ = ["Capabilities", "Closable", "HealthCheck", "bound"]


@runtime_checkable
class HealthCheck(Protocol):
    async def health(self) -> Mapping[str, Any]:
        """``{"status": "OK"}``, or ``{"status": "Error", "message": ...}``."""
        ...


@runtime_checkable
class Closable(Protocol):
    async def shutdown(self) -> None:
        """Release what the provider holds (connections, models, background tasks)."""
        ...


def bound(impl: object, protocol: type | None) -> Callable[..., Any] | None:
    """The method of ``impl`` implementing one-method ``protocol``, or None if it does not."""
    if protocol is None or not isinstance(impl, protocol):
        return None
    (name,) = protocol_methods(protocol)
    method: Callable[..., Any] = getattr(impl, name)
    return method


Listed = Iterable[Resource | Mapping[str, Any]]


@dataclass(frozen=True)
class Capabilities:
    """The optional capabilities one provider has, found at start-up."""

    health: Callable[[], Awaitable[Mapping[str, Any]]] | None = None
    shutdown: Callable[[], Awaitable[None]] | None = None
    list_resources: Callable[[], Awaitable[Listed]] | None = None
    register: Callable[[Resource], Awaitable[Resource | None]] | None = None
    unregister: Callable[[Resource], Awaitable[None]] | None = None
    claims: Callable[[Resource], bool] | None = None

    @classmethod
    def of(cls, impl: object, kind: ResourceKind | None) -> Capabilities:
        return cls(
            health=bound(impl, HealthCheck),
            shutdown=bound(impl, Closable),
            list_resources=bound(impl, kind.lister) if kind else None,
            register=bound(impl, kind.registrar) if kind else None,
            unregister=bound(impl, kind.unregistrar) if kind else None,
            claims=bound(impl, kind.claimer) if kind else None,
        )

    def names(self, kind: ResourceKind | None) -> list[str]:
        """The capability Protocols found, by name (for the start-up report)."""
        pairs: list[tuple[object, type | None]] = [(self.health, HealthCheck), (self.shutdown, Closable)]
        if kind is not None:
            pairs += [
                (self.list_resources, kind.lister),
                (self.register, kind.registrar),
                (self.unregister, kind.unregistrar),
                (self.claims, kind.claimer),
            ]
        return [
            protocol.__name__ for method, protocol in pairs if method is not None and protocol is not None
        ]
