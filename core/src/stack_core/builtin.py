"""The kernel's own plugin: its APIs are registered through the same hooks as any plugin's."""

from __future__ import annotations

from dataclasses import replace

from .apis.inspect import INSPECT_API, PROVIDERS_API
from .apis.resources import MODELS, RESOURCE_KINDS, SHIELDS, VECTOR_DBS, resource_api
from .auth.configs import ApiKeyAuthConfig, CustomAuthConfig, GitHubTokenConfig, OAuth2TokenConfig
from .hookspecs import AuthContext, Authenticator, RegisterApi, RegisterAuthProvider, hookimpl
from .services import InspectService, ProvidersService
from .spec import ApiRef


@hookimpl
def stack_register_apis(register: RegisterApi) -> None:
    register(replace(INSPECT_API, kernel=InspectService))
    register(replace(PROVIDERS_API, kernel=ProvidersService))
    # provider-served APIs are imported only by a stack that serves them
    register(ApiRef("inference", "stack_core.apis.inference:INFERENCE_API", resource=MODELS))
    register(ApiRef("files", "stack_core.apis.files:FILES_API"))
    register(ApiRef("safety", "stack_core.apis.safety:SAFETY_API", resource=SHIELDS))
    register(ApiRef("vector_io", "stack_core.apis.vector_io:VECTOR_IO_API", resource=VECTOR_DBS))
    register(ApiRef("vector_stores", "stack_core.apis.vector_stores:VECTOR_STORES_API"))
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
