"""The kernel's own plugin: its APIs are registered through the same hooks as any plugin's."""

from __future__ import annotations

from dataclasses import replace

from .apis.inference import INFERENCE_API
from .apis.inspect import INSPECT_API, PROVIDERS_API
from .apis.resources import MODELS, RESOURCE_KINDS, resource_api
from .auth.custom import CustomAuthConfig, CustomAuthenticator
from .hookspecs import RegisterApi, RegisterAuthProvider, hookimpl
from .services import InspectService, ProvidersService


@hookimpl
def stack_register_apis(register: RegisterApi) -> None:
    register(replace(INSPECT_API, kernel=InspectService))
    register(replace(PROVIDERS_API, kernel=ProvidersService))
    register(INFERENCE_API)
    register(resource_api(MODELS, list_aliases=("/v1/openai/v1/models",)))
    for kind in RESOURCE_KINDS:
        if kind is not MODELS:
            register(resource_api(kind))


@hookimpl
def stack_register_auth_providers(register: RegisterAuthProvider) -> None:
    register(type="custom", config=CustomAuthConfig, factory=CustomAuthenticator)
