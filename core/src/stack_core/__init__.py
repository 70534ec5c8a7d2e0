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
    "AuthContext": "stack_core.hookspecs",
    "RequestInfo": "stack_core.hookspecs",
    "RegisterApi": "stack_core.hookspecs",
    "RegisterProvider": "stack_core.hookspecs",
    "RegisterAuthProvider": "stack_core.hookspecs",
    "Database": "stack_core.storage",
    "ChatCompletionRequest": "stack_core.apis.inference",
    "CompletionRequest": "stack_core.apis.inference",
    "EmbeddingsRequest": "stack_core.apis.inference",
    "InferenceProvider": "stack_core.apis.inference",
    "RunShieldRequest": "stack_core.apis.safety",
    "RunShieldResponse": "stack_core.apis.safety",
    "SafetyViolation": "stack_core.apis.safety",
    "ModerationRequest": "stack_core.apis.safety",
    "ModerationResponse": "stack_core.apis.safety",
    "ModerationResult": "stack_core.apis.safety",
    "SafetyProvider": "stack_core.apis.safety",
    "content_text": "stack_core.apis.safety",
    "moderation_id": "stack_core.apis.safety",
    "moderation_result": "stack_core.apis.safety",
    "Chunk": "stack_core.apis.vector_io",
    "ComparisonFilter": "stack_core.apis.vector_io",
    "CompoundFilter": "stack_core.apis.vector_io",
    "DeleteChunksRequest": "stack_core.apis.vector_io",
    "InsertChunksRequest": "stack_core.apis.vector_io",
    "MetadataFilter": "stack_core.apis.vector_io",
    "QueryChunksRequest": "stack_core.apis.vector_io",
    "QueryChunksResponse": "stack_core.apis.vector_io",
    "QueryParams": "stack_core.apis.vector_io",
    "Ranker": "stack_core.apis.vector_io",
    "VectorIOProvider": "stack_core.apis.vector_io",
    "IndexedChunk": "stack_core.kits.vector_index",
    "VectorHit": "stack_core.kits.vector_index",
    "VectorIndex": "stack_core.kits.vector_index",
    "bm25_rank": "stack_core.kits.vector_index",
    "keyword_terms": "stack_core.kits.vector_index",
    "VectorIOAdapter": "stack_core.kits.vector_adapter",
    "derive_chunk_id": "stack_core.kits.vector_adapter",
    "AttachFileRequest": "stack_core.apis.vector_stores",
    "CreateFileBatchRequest": "stack_core.apis.vector_stores",
    "CreateVectorStoreRequest": "stack_core.apis.vector_stores",
    "SearchVectorStoreRequest": "stack_core.apis.vector_stores",
    "VectorStore": "stack_core.apis.vector_stores",
    "VectorStoreFile": "stack_core.apis.vector_stores",
    "VectorStoreFileBatch": "stack_core.apis.vector_stores",
    "VectorStoreSearchResponse": "stack_core.apis.vector_stores",
    "VectorStoresProvider": "stack_core.apis.vector_stores",
    "ApiRef": "stack_core.spec",
    "ApiSpec": "stack_core.spec",
    "Route": "stack_core.spec",
    "ResourceKind": "stack_core.spec",
    "resource_api": "stack_core.apis.resources",
    "ConfigModel": "stack_core.config",
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
    "OwnedObject": "stack_core.objects",
    "OwnedObjects": "stack_core.objects",
    "Job": "stack_core.jobs",
    "JobHandle": "stack_core.jobs",
    "JobService": "stack_core.jobs",
    "new_job_id": "stack_core.jobs",
    "current_user": "stack_core.context",
    "Action": "stack_core.access",
    "BinaryContent": "stack_core.payloads",
    "FileUpload": "stack_core.payloads",
    "RemoteInferenceConfig": "stack_core.config",
}

__all__ = [
    "Action",
    "ApiRef",
    "ApiSpec",
    "AttachFileRequest",
    "AuthContext",
    "AuthenticationError",
    "Authenticator",
    "BadRequestError",
    "Benchmark",
    "BinaryContent",
    "ChatCompletionRequest",
    "Chunk",
    "ComparisonFilter",
    "CompletionRequest",
    "CompoundFilter",
    "ConfigError",
    "ConfigModel",
    "ConflictError",
    "CreateFileBatchRequest",
    "CreateVectorStoreRequest",
    "Database",
    "Dataset",
    "DeleteChunksRequest",
    "EmbeddingsRequest",
    "FileUpload",
    "IndexedChunk",
    "InferenceProvider",
    "InsertChunksRequest",
    "Job",
    "JobHandle",
    "JobService",
    "MetadataFilter",
    "Model",
    "ModerationRequest",
    "ModerationResponse",
    "ModerationResult",
    "NotFoundError",
    "OwnedObject",
    "OwnedObjects",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PluginError",
    "ProviderContext",
    "ProviderError",
    "ProviderSpec",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "QueryChunksRequest",
    "QueryChunksResponse",
    "QueryParams",
    "QuotaExceededError",
    "Ranker",
    "RegisterApi",
    "RegisterAuthProvider",
    "RegisterProvider",
    "RemoteInferenceConfig",
    "RequestInfo",
    "Resource",
    "ResourceKind",
    "Route",
    "RunConfig",
    "RunShieldRequest",
    "RunShieldResponse",
    "SafetyProvider",
    "SafetyViolation",
    "ScoringFunction",
    "SearchVectorStoreRequest",
    "Shield",
    "Stack",
    "StackError",
    "ToolGroup",
    "UnsupportedError",
    "User",
    "VectorDB",
    "VectorHit",
    "VectorIOAdapter",
    "VectorIOProvider",
    "VectorIndex",
    "VectorStore",
    "VectorStoreFile",
    "VectorStoreFileBatch",
    "VectorStoreSearchResponse",
    "VectorStoresProvider",
    "bm25_rank",
    "content_text",
    "create_app",
    "current_user",
    "derive_chunk_id",
    "hookimpl",
    "keyword_terms",
    "load_config",
    "moderation_id",
    "moderation_result",
    "new_job_id",
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
    from .access import Action
    from .apis.inference import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest, InferenceProvider
    from .apis.resources import resource_api
    from .apis.safety import (
        ModerationRequest,
        ModerationResponse,
        ModerationResult,
        RunShieldRequest,
        RunShieldResponse,
        SafetyProvider,
        SafetyViolation,
        content_text,
        moderation_id,
        moderation_result,
    )
    from .apis.vector_io import (
        Chunk,
        ComparisonFilter,
        CompoundFilter,
        DeleteChunksRequest,
        InsertChunksRequest,
        MetadataFilter,
        QueryChunksRequest,
        QueryChunksResponse,
        QueryParams,
        Ranker,
        VectorIOProvider,
    )
    from .apis.vector_stores import (
        AttachFileRequest,
        CreateFileBatchRequest,
        CreateVectorStoreRequest,
        SearchVectorStoreRequest,
        VectorStore,
        VectorStoreFile,
        VectorStoreFileBatch,
        VectorStoreSearchResponse,
        VectorStoresProvider,
    )
    from .config import ConfigModel, RemoteInferenceConfig, RunConfig, load_config
    from .context import current_user
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
        AuthContext,
        Authenticator,
        ProviderContext,
        ProviderSpec,
        RegisterApi,
        RegisterAuthProvider,
        RegisterProvider,
        RequestInfo,
        hookimpl,
    )
    from .jobs import Job, JobHandle, JobService, new_job_id
    from .kits.vector_adapter import VectorIOAdapter, derive_chunk_id
    from .kits.vector_index import IndexedChunk, VectorHit, VectorIndex, bm25_rank, keyword_terms
    from .objects import OwnedObject, OwnedObjects
    from .payloads import BinaryContent, FileUpload
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
    from .spec import ApiRef, ApiSpec, ResourceKind, Route
    from .stack import Stack
    from .storage import Database
