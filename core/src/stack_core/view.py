"""What the kernel's services see of a running stack: a narrow ``StackView``, not the ``Stack``.

Routing, the registry services, reconciliation and the kernel-served APIs (inspect, providers)
receive this Protocol, so none of them imports the module that assembles the stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from .access import AccessPolicy
from .calls import ApiHandle
from .capabilities import Capabilities
from .config import RunConfig
from .hookspecs import ProviderSpec, Registry
from .registry import ResourceRegistry
from .spec import ApiSpec

__all__ = ["ProviderInstance", "StackView"]


@dataclass(frozen=True)
class ProviderInstance:
    """One configured provider, started: its implementation and the capabilities it has."""

    api: str
    provider_id: str
    provider_type: str
    spec: ProviderSpec
    config: BaseModel
    impl: object
    capabilities: Capabilities


class StackView(Protocol):
    """The running stack as its services see it."""

    @property
    def registry(self) -> ResourceRegistry: ...

    @property
    def access(self) -> AccessPolicy: ...

    @property
    def config(self) -> RunConfig:
        """The run config the stack was built from."""
        ...

    def served_apis(self) -> list[ApiSpec]: ...

    def instances(self, api: str | None = None) -> list[ProviderInstance]: ...

    def api(self, name: str) -> ApiHandle:
        """A served API's handlers (``KeyError`` if it is not served)."""
        ...

    def registry_service(self, plural: str) -> Registry:
        """The registry service of a resource kind (``"datasets"``), once the stack runs."""
        ...
