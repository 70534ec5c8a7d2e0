"""The Inference API, OpenAI-compatible: chat completions, completions, embeddings.

Request models type the fields the kernel needs (``model`` for routing, ``stream``) and the sampling
parameters within their documented ranges (a 400 naming the parameter, before any backend call),
and keep every other OpenAI parameter as-is (``extra="allow"``), so providers forward what clients
send without a lossy round trip. Providers may return pre-encoded JSON ``bytes`` and, when streaming, an async
iterator of chunk payloads (``bytes`` or dicts), which the server frames as SSE ending in
``data: [DONE]`` — or an ``SSEStream`` of already-framed bytes, relayed verbatim. On the
``/v1/openai/v1/...`` paths of the Llama Stack 0.2 line, streams end without ``[DONE]``, which that
line's client cannot parse (``LLAMA_STACK_CHUNKS``).

The 0.2 line's native routes (``/v1/inference/chat-completion``, ...; ``inference_native``) belong
to this API too; providers do not implement them: they are translated onto the routes above.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ..fields import (
    Choices,
    Identifier,
    LogitBias,
    Penalty,
    Seed,
    Temperature,
    TokenCount,
    TopLogprobs,
    TopP,
)
from ..framing import LLAMA_STACK_CHUNKS
from ..payloads import SSEStream
from ..spec import ApiModel, ApiSpec, Route
from .inference_native import NATIVE_ROUTES
from .resources import MODELS

__all__ = [
    "INFERENCE_API",
    "ChatCompletionRequest",
    "CompletionRequest",
    "EmbeddingsRequest",
    "InferenceProvider",
]

OPENAI_PREFIX = "/v1/openai"


class _OpenAIRequest(ApiModel):
    model_config = ConfigDict(extra="allow")

    model: Identifier = Field(description="Model identifier, as registered (GET /v1/models).")


class _Sampling(_OpenAIRequest):
    n: Choices | None = None
    max_tokens: TokenCount | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    frequency_penalty: Penalty | None = None
    presence_penalty: Penalty | None = None
    seed: Seed | None = None
    logit_bias: LogitBias | None = None


class ChatCompletionRequest(_Sampling):
    messages: list[dict[str, Any]] = Field(min_length=1, description="OpenAI chat messages.")
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    stop: str | list[str] | None = None
    logprobs: bool | None = None
    top_logprobs: TopLogprobs | None = None
    max_completion_tokens: TokenCount | None = None


class CompletionRequest(_Sampling):
    prompt: str | list[str] | list[int] | list[list[int]]
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    stop: str | list[str] | None = None
    logprobs: Annotated[int, Field(ge=0, le=5)] | None = None
    best_of: Annotated[int, Field(ge=1, le=20)] | None = None


class EmbeddingsRequest(_OpenAIRequest):
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Field(ge=1, le=65536)] | None = None
    user: str | None = None


Reply = bytes | dict[str, Any] | BaseModel
StreamOrReply = Reply | SSEStream | AsyncIterator[bytes | dict[str, Any]]


class InferenceProvider(Protocol):
    """What an inference provider implements. Requests arrive with ``model`` already rewritten to
    the provider's own model id. Optional extras: ``list_models()`` (what the backend serves, for
    discovery), ``register_model(model)`` (accept or refuse a registration), ``health()``."""

    async def openai_chat_completion(self, request: ChatCompletionRequest) -> StreamOrReply:
        """An OpenAI chat completion, or an async iterator of chunk payloads when streaming."""
        ...

    async def openai_completion(self, request: CompletionRequest) -> StreamOrReply:
        """An OpenAI text completion, or an async iterator of chunk payloads when streaming."""
        ...

    async def openai_embeddings(self, request: EmbeddingsRequest) -> Reply:
        """An OpenAI embeddings response."""
        ...


def _aliased(path: str) -> tuple[str, ...]:
    return (OPENAI_PREFIX + path,)


INFERENCE_API = ApiSpec(
    name="inference",
    description="OpenAI-compatible chat completions, completions and embeddings, federated by model.",
    protocol=InferenceProvider,
    resource=MODELS,
    routes=(
        Route(
            "POST",
            "/v1/chat/completions",
            "openai_chat_completion",
            ChatCompletionRequest,
            dict[str, Any],
            stream=True,
            routing_key="model",
            aliases=_aliased("/v1/chat/completions"),
            alias_framing=LLAMA_STACK_CHUNKS,
            summary="Create a chat completion (SSE when stream is true).",
        ),
        Route(
            "POST",
            "/v1/completions",
            "openai_completion",
            CompletionRequest,
            dict[str, Any],
            stream=True,
            routing_key="model",
            aliases=_aliased("/v1/completions"),
            alias_framing=LLAMA_STACK_CHUNKS,
            summary="Create a text completion (SSE when stream is true).",
        ),
        Route(
            "POST",
            "/v1/embeddings",
            "openai_embeddings",
            EmbeddingsRequest,
            dict[str, Any],
            routing_key="model",
            aliases=_aliased("/v1/embeddings"),
            summary="Create embeddings.",
        ),
        *NATIVE_ROUTES,
    ),
)
