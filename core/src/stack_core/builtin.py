"""The kernel's own plugin: its APIs are registered through the same hooks as any plugin's."""

from __future__ import annotations

from .apis.inspect import INSPECT_API, PROVIDERS_API
from .apis.resources import RESOURCE_KINDS, resource_api
from .hookspecs import RegisterApi, hookimpl


@hookimpl
def stack_register_apis(register: RegisterApi) -> None:
    register(INSPECT_API)
    register(PROVIDERS_API)
    for kind in RESOURCE_KINDS:
        register(resource_api(kind))
