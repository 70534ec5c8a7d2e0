"""The kernel's own plugin: its APIs are registered through the same hooks as any plugin's."""

from __future__ import annotations

from dataclasses import replace

from .apis.files import FILES_API
from .apis.inference import INFERENCE_API
from .apis.inspect import INSPECT_API, PROVIDERS_API
from .apis.resources import MODELS, RESOURCE_KINDS, resource_api
from .apis.safety import SAFETY_API
from .apis.vector_io import VECTOR_IO_API
from .apis.vector_stores import VECTOR_STORES_API
from .auth.configs import ApiKeyAuthConfig, CustomAuthConfig, GitHubTokenConfig, OAuth2TokenConfig
from .hookspecs import AuthContext, Authenticator, RegisterApi, RegisterAuthProvider, hookimpl
from .services import InspectService, ProvidersService


@hookimpl
def stack_register_apis(register: RegisterApi) -> None:
    register(replace(INSPECT_API, kernel=InspectService))
    register(replace(PROVIDERS_API, kernel=ProvidersService))
    register(INFERENCE_API)
    register(FILES_API)
    register(SAFETY_API)
    register(VECTOR_IO_API)
    register(VECTOR_STORES_API)
    register(resource_api(MODELS, list_aliases=("/v1/openai/v1/models",)))
    for kind in RESOURCE_KINDS:
        if kind is not MODELS:
            register(resource_api(kind))


@hookimpl
def stack_register_auth_providers(register: RegisterAuthProvider) -> None:
    register(type="custom", config=CustomAuthConfig, factory=_custom)
    register(type="oauth2_token", config=OAuth2TokenConfig, factory=_oauth2)
    register(type="github_token", config=GitHubTokenConfig, factory=_github)
    register(type="api_key", config=ApiKeyAuthConfig, factory=_api_key)


# Authenticators import their HTTP/JWT/crypto dependencies only when configured.


def _custom(config: CustomAuthConfig) -> Authenticator:
    from .auth.custom import CustomAuthenticator

    return CustomAuthenticator(config)


def _oauth2(config: OAuth2TokenConfig) -> Authenticator:
    from .auth.oauth2 import OAuth2TokenAuthenticator

    return OAuth2TokenAuthenticator(config)


def _github(config: GitHubTokenConfig) -> Authenticator:
    from .auth.github import GitHubTokenAuthenticator

    return GitHubTokenAuthenticator(config)


async def _api_key(config: ApiKeyAuthConfig, context: AuthContext) -> Authenticator:
    from .auth.api_key import create_api_key_authenticator

    return await create_api_key_authenticator(config, context)
