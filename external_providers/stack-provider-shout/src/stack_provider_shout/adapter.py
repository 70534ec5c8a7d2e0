"""The shout adapter: OpenAI-shaped replies computed locally, no backend.

Requests arrive as the kernel's OpenAI request models; only the fields below are read, so they are
described structurally here (the request classes are not part of ``stack_core``'s public API).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

from stack_core import BadRequestError, Model, ProviderContext, UnsupportedError

from .config import ShoutConfig

EMBEDDING_DIMENSION = 8
MODELS: dict[str, str] = {"shout-1": "llm", "shout-embed": "embedding"}

Json = dict[str, Any]


class ChatRequest(Protocol):
    model: str
    messages: list[dict[str, Any]]
    stream: bool | None
    stream_options: dict[str, Any] | None


class CompletionRequest(Protocol):
    model: str
    prompt: str | list[str] | list[int] | list[list[int]]
    stream: bool | None
    stream_options: dict[str, Any] | None


class EmbeddingsRequest(Protocol):
    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: str | None
    dimensions: int | None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _usage(prompt: str, reply: str) -> Json:
    p, c = len(prompt.split()), len(reply.split())
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [b / 127.5 - 1.0 for b in digest[:EMBEDDING_DIMENSION]]
    norm = sum(x * x for x in raw) ** 0.5 or 1.0
    return [x / norm for x in raw]


class ShoutAdapter:
    """Implements the inference protocol (chat, completions, embeddings) plus model discovery."""

    def __init__(self, config: ShoutConfig, context: ProviderContext) -> None:
        self.config, self.provider_id = config, context.provider_id

    def shout(self, text: str) -> str:
        return text.upper() + self.config.suffix

    async def list_models(self) -> list[Model]:
        """The models this provider serves, registered at start-up."""
        return [
            Model(identifier="shout-1", provider_id=self.provider_id, model_type="llm"),
            Model(
                identifier="shout-embed",
                provider_id=self.provider_id,
                model_type="embedding",
                metadata={"embedding_dimension": EMBEDDING_DIMENSION},
            ),
        ]

    async def register_model(self, model: Model) -> None:
        """Accept only the models listed in ``MODELS``, with their model type."""
        served = ", ".join(f"{name} ({kind})" for name, kind in MODELS.items())
        kind = MODELS.get(model.provider_key)
        if kind is None:
            raise BadRequestError(
                f"Provider '{self.provider_id}' (inline::shout) does not serve model "
                f"'{model.provider_key}'. It serves: {served}.",
                param="provider_model_id",
            )
        if kind != model.model_type:
            raise BadRequestError(
                f"Model '{model.provider_key}' is an {kind} model, not {model.model_type}. "
                f"Provider '{self.provider_id}' serves: {served}.",
                param="model_type",
            )

    async def health(self) -> dict[str, str]:
        return {"status": "OK"}

    async def openai_chat_completion(self, request: ChatRequest) -> Json | AsyncIterator[Json]:
        users = [m for m in request.messages if m.get("role") == "user"]
        prompt = _text(users[-1].get("content")) if users else ""
        reply, rid, created = self.shout(prompt), f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if request.stream:
            include_usage = bool((request.stream_options or {}).get("include_usage"))
            return self._chat_chunks(rid, created, request.model, prompt, reply, include_usage)
        return {
            "id": rid,
            "object": "chat.completion",
            "created": created,
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": _usage(prompt, reply),
        }

    async def _chat_chunks(
        self, rid: str, created: int, model: str, prompt: str, reply: str, include_usage: bool
    ) -> AsyncIterator[Json]:
        words = reply.split() or [""]
        base = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model}
        for i, word in enumerate(words):
            delta = {"role": "assistant", "content": word} if i == 0 else {"content": " " + word}
            last = i == len(words) - 1
            yield {
                **base,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": "stop" if last else None}
                ],
            }
        if include_usage:
            yield {**base, "choices": [], "usage": _usage(prompt, reply)}

    async def openai_completion(self, request: CompletionRequest) -> Json | AsyncIterator[Json]:
        prompts = [request.prompt] if isinstance(request.prompt, str) else request.prompt
        if not all(isinstance(p, str) for p in prompts):
            raise UnsupportedError("inline::shout completes text prompts, not token ids.", param="prompt")
        texts = [str(p) for p in prompts]
        rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
        base = {"id": rid, "object": "text_completion", "created": created, "model": request.model}
        if request.stream:
            return self._completion_chunks(base, texts)
        choices = [
            {"index": i, "text": self.shout(t), "finish_reason": "stop", "logprobs": None}
            for i, t in enumerate(texts)
        ]
        return {
            **base,
            "choices": choices,
            "usage": _usage(" ".join(texts), " ".join(map(self.shout, texts))),
        }

    async def _completion_chunks(self, base: Json, texts: list[str]) -> AsyncIterator[Json]:
        for index, text in enumerate(texts):
            words = self.shout(text).split() or [""]
            for i, word in enumerate(words):
                last = i == len(words) - 1
                yield {
                    **base,
                    "choices": [
                        {
                            "index": index,
                            "text": word if i == 0 else " " + word,
                            "finish_reason": "stop" if last else None,
                            "logprobs": None,
                        }
                    ],
                }

    async def openai_embeddings(self, request: EmbeddingsRequest) -> Json:
        if request.dimensions not in (None, EMBEDDING_DIMENSION):
            raise UnsupportedError(
                f"inline::shout embeddings have {EMBEDDING_DIMENSION} dimensions.", param="dimensions"
            )
        raw = request.input
        inputs: list[Any] = [raw] if isinstance(raw, str) or (raw and isinstance(raw[0], int)) else list(raw)
        data = []
        for i, item in enumerate(inputs):
            vector = _vector(item if isinstance(item, str) else repr(list(item)))
            embedding: list[float] | str = vector
            if request.encoding_format == "base64":
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        tokens = sum(len(x.split()) if isinstance(x, str) else len(x) for x in inputs)
        return {
            "object": "list",
            "data": data,
            "model": request.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def create_adapter(config: ShoutConfig, context: ProviderContext) -> ShoutAdapter:
    """The provider factory: ``register(..., factory=create_adapter)``."""
    return ShoutAdapter(config, context)
