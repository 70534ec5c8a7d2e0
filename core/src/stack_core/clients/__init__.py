"""Typed in-process clients for providers that call other APIs.

A provider reaches another API through ``ProviderContext.deps[api]`` (for a routed API the kernel's
router, which checks the current user's access as for an HTTP request). These clients wrap that
object, build its request models and decode the five-way reply union in one place
(``decode``): ``InferenceClient`` (chat, streamed chat with tool calls assembled, embeddings),
``VectorIOClient`` and ``SafetyClient``. They are for in-process calls only; the HTTP relay path
keeps passing provider bytes through verbatim.
"""

from __future__ import annotations

from .decode import PayloadStream, decode_model, decode_reply, decode_stream, error_from_body
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
from .vector_io import VectorIOClient

__all__ = [
    "ChatDelta",
    "ChatDone",
    "ChatResult",
    "ChatStream",
    "InferenceClient",
    "PayloadStream",
    "SafetyClient",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "VectorIOClient",
    "decode_model",
    "decode_reply",
    "decode_stream",
    "error_from_body",
]
