"""Typed in-process clients for providers that call other APIs.

A provider reaches another API through its ``ApiHandle`` (``ProviderContext.deps[api]``): the same
handlers an HTTP request reaches, so routing, the current user's access rules and provider-call
wrappers apply. These clients wrap a handle, build its request models and decode the five-way reply
union in one place (``decode``): ``InferenceClient`` (chat, streamed chat with tool calls
assembled, embeddings), ``VectorIOClient``, ``SafetyClient``, ``FilesClient``,
``ToolRuntimeClient``, ``VectorStoresClient``, ``DatasetIOClient`` and ``ScoringClient``
(``ProviderContext.inference``, ``.vector_io``, ``.safety``, ``.files``, ``.tool_runtime``,
``.vector_stores``, ``.datasetio``, ``.scoring``). They are for in-process calls only; the HTTP relay path
keeps passing provider bytes through verbatim.
"""

from __future__ import annotations

from .datasetio import DatasetIOClient
from .decode import PayloadStream, decode_model, decode_reply, decode_stream, error_from_body
from .files import FilesClient
from .inference import (
    ChatDelta,
    ChatDone,
    ChatResult,
    ChatStream,
    InferenceClient,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from .safety import SafetyClient
from .scoring import ScoringClient
from .tool_runtime import ToolRuntimeClient
from .vector_io import VectorIOClient
from .vector_stores import VectorStoresClient

__all__ = [
    "ChatDelta",
    "ChatDone",
    "ChatResult",
    "ChatStream",
    "DatasetIOClient",
    "FilesClient",
    "InferenceClient",
    "PayloadStream",
    "SafetyClient",
    "ScoringClient",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolRuntimeClient",
    "Usage",
    "VectorIOClient",
    "VectorStoresClient",
    "decode_model",
    "decode_reply",
    "decode_stream",
    "error_from_body",
]
