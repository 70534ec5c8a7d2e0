"""The kernel's own plugin: its APIs are registered through the same hooks as any plugin's."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

from .apis.inspect import INSPECT_API, PROVIDERS_API
from .apis.resources import BENCHMARKS, DATASETS, MODELS, SCORING_FUNCTIONS, SHIELDS, TOOL_GROUPS, VECTOR_DBS
from .calls import ProviderCall
from .hookspecs import RegisterApi, RegisterAuthProvider, hookimpl
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
    register(ApiRef("responses", "stack_core.apis.responses:RESPONSES_API"))
    register(ApiRef("agents", "stack_core.apis.agents:AGENTS_API"))
    register(ApiRef("conversations", "stack_core.apis.conversations:CONVERSATIONS_API"))
    register(ApiRef("telemetry", "stack_core.apis.telemetry:TELEMETRY_API"))
    register(ApiRef("tool_runtime", "stack_core.apis.tool_runtime:TOOL_RUNTIME_API", resource=TOOL_GROUPS))
    register(ApiRef("datasetio", "stack_core.apis.datasetio:DATASETIO_API", resource=DATASETS))
    register(ApiRef("scoring", "stack_core.apis.scoring:SCORING_API", resource=SCORING_FUNCTIONS))
    register(ApiRef("eval", "stack_core.apis.eval:EVAL_API", resource=BENCHMARKS))
    # the registry APIs of their resource kinds (/v1/models, ...) are derived by the plugin loader


@hookimpl(trylast=True)
def stack_provider_call(call: ProviderCall) -> Awaitable[Any]:
    """The call itself, innermost of any plugin's wrappers."""
    return call.invoke()


@hookimpl
def stack_register_auth_providers(register: RegisterAuthProvider) -> None:
    # by reference: authenticators and their HTTP/JWT/crypto dependencies load only when configured
    auth = "stack_core.auth"
    register(
        type="custom", config=f"{auth}.configs:CustomAuthConfig", factory=f"{auth}.custom:CustomAuthenticator"
    )
    register(
        type="oauth2_token",
        config=f"{auth}.configs:OAuth2TokenConfig",
        factory=f"{auth}.oauth2:OAuth2TokenAuthenticator",
    )
    register(
        type="github_token",
        config=f"{auth}.configs:GitHubTokenConfig",
        factory=f"{auth}.github:GitHubTokenAuthenticator",
    )
    register(
        type="api_key",
        config=f"{auth}.configs:ApiKeyAuthConfig",
        factory=f"{auth}.api_key:create_api_key_authenticator",
    )
