"""Stack: a plugin-microkernel LLM application server.

Public API (everything else is private to the kernel)::

    from stack_core import create_app, hookimpl, ApiSpec, Route, ProviderContext, ...

Imports are lazy so that ``import stack_core`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "create_app": "stack_core.server.app",
    "hookimpl": "stack_core.hookspecs",
    "ProviderContext": "stack_core.hookspecs",
    "ProviderSpec": "stack_core.hookspecs",
    "Authenticator": "stack_core.hookspecs",
    "RequestInfo": "stack_core.hookspecs",
    "RegisterApi": "stack_core.hookspecs",
    "RegisterProvider": "stack_core.hookspecs",
    "RegisterAuthProvider": "stack_core.hookspecs",
    "Database": "stack_core.storage",
    "ChatCompletionRequest": "stack_core.apis.inference",
    "CompletionRequest": "stack_core.apis.inference",
    "EmbeddingsRequest": "stack_core.apis.inference",
    "InferenceProvider": "stack_core.apis.inference",
    "ApiSpec": "stack_core.spec",
    "Route": "stack_core.spec",
    "ResourceKind": "stack_core.spec",
    "resource_api": "stack_core.apis.resources",
    "RunConfig": "stack_core.config",
    "load_config": "stack_core.config",
    "Stack": "stack_core.stack",
    "Resource": "stack_core.resources",
    "Model": "stack_core.resources",
    "Shield": "stack_core.resources",
    "VectorDB": "stack_core.resources",
    "Dataset": "stack_core.resources",
    "ScoringFunction": "stack_core.resources",
    "Benchmark": "stack_core.resources",
    "ToolGroup": "stack_core.resources",
    "User": "stack_core.resources",
    "StackError": "stack_core.errors",
    "ConfigError": "stack_core.errors",
    "PluginError": "stack_core.errors",
    "BadRequestError": "stack_core.errors",
    "UnsupportedError": "stack_core.errors",
    "AuthenticationError": "stack_core.errors",
    "PermissionDeniedError": "stack_core.errors",
    "NotFoundError": "stack_core.errors",
    "ConflictError": "stack_core.errors",
    "PayloadTooLargeError": "stack_core.errors",
    "QuotaExceededError": "stack_core.errors",
    "ProviderError": "stack_core.errors",
    "ProviderUnavailableError": "stack_core.errors",
    "ProviderTimeoutError": "stack_core.errors",
}

__all__ = [
    "ApiSpec",
    "AuthenticationError",
    "Authenticator",
    "BadRequestError",
    "Benchmark",
    "ChatCompletionRequest",
    "CompletionRequest",
    "ConfigError",
    "ConflictError",
    "Database",
    "Dataset",
    "EmbeddingsRequest",
    "InferenceProvider",
    "Model",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PluginError",
    "ProviderContext",
    "ProviderError",
    "ProviderSpec",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "QuotaExceededError",
    "RegisterApi",
    "RegisterAuthProvider",
    "RegisterProvider",
    "RequestInfo",
    "Resource",
    "ResourceKind",
    "Route",
    "RunConfig",
    "ScoringFunction",
    "Shield",
    "Stack",
    "StackError",
    "ToolGroup",
    "UnsupportedError",
    "User",
    "VectorDB",
    "create_app",
    "hookimpl",
    "load_config",
    "resource_api",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stack_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from .apis.inference import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest, InferenceProvider
    from .apis.resources import resource_api
    from .config import RunConfig, load_config
    from .errors import (
        AuthenticationError,
        BadRequestError,
        ConfigError,
        ConflictError,
        NotFoundError,
        PayloadTooLargeError,
        PermissionDeniedError,
        PluginError,
        ProviderError,
        ProviderTimeoutError,
        ProviderUnavailableError,
        QuotaExceededError,
        StackError,
        UnsupportedError,
    )
    from .hookspecs import (
        Authenticator,
        ProviderContext,
        ProviderSpec,
        RegisterApi,
        RegisterAuthProvider,
        RegisterProvider,
        RequestInfo,
        hookimpl,
    )
    from .resources import (
        Benchmark,
        Dataset,
        Model,
        Resource,
        ScoringFunction,
        Shield,
        ToolGroup,
        User,
        VectorDB,
    )
    from .server.app import create_app
    from .spec import ApiSpec, ResourceKind, Route
    from .stack import Stack
    from .storage import Database
