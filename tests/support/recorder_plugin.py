"""A test-only plugin (never shipped): an OpenAI-compatible inference provider, ``inline::recorder``,
that keeps every request it receives (``RECEIVED``) and answers with fixed replies: "ok" with
logprobs and usage; streamed, "ok" and a call to ``lookup`` whose arguments are not JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from stack_core import ConfigModel, ProviderContext, hookimpl
from stack_core.apis.inference import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest

RECEIVED: list[dict[str, Any]] = []
USAGE = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
CHAT = {
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "ok"},
            "finish_reason": "stop",
            "logprobs": {
                "content": [
                    {
                        "token": "ok",
                        "logprob": -0.1,
                        "top_logprobs": [{"token": "ok", "logprob": -0.1}, {"token": "no", "logprob": -2.5}],
                    }
                ]
            },
        }
    ],
    "usage": USAGE,
}
CHAT_CHUNKS = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}}]},
    {
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {"index": 0, "id": "c1", "function": {"name": "lookup", "arguments": "oops"}}
                    ]
                },
            }
        ]
    },
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
]
COMPLETION = {
    "choices": [
        {
            "index": 0,
            "text": "ok",
            "finish_reason": "length",
            "logprobs": {"tokens": ["ok"], "token_logprobs": [-0.5]},
        }
    ],
    "usage": USAGE,
}


class RecorderConfig(ConfigModel):
    pass


async def _items(chunks: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for chunk in chunks:
        yield chunk


class Recorder:
    def __init__(self, config: RecorderConfig, context: ProviderContext) -> None:
        pass

    async def openai_chat_completion(
        self, request: ChatCompletionRequest
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        RECEIVED.append(request.model_dump(exclude_none=True))
        return _items(CHAT_CHUNKS) if request.stream else CHAT

    async def openai_completion(self, request: CompletionRequest) -> dict[str, Any]:
        RECEIVED.append(request.model_dump(exclude_none=True))
        return COMPLETION

    async def openai_embeddings(self, request: EmbeddingsRequest) -> dict[str, Any]:
        RECEIVED.append(request.model_dump(exclude_none=True))
        texts = request.input if isinstance(request.input, list) else [request.input]
        return {"data": [{"index": i, "embedding": [float(i), 1.0]} for i in range(len(texts))]}


@hookimpl
def stack_register_providers(register):  # type: ignore[no-untyped-def]
    register(api="inference", provider_type="inline::recorder", config=RecorderConfig, factory=Recorder)
