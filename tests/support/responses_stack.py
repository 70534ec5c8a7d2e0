"""The Responses tests' stack: inline::builtin Responses (and Conversations) over the fake backend
behind remote::vllm, driven by the openai SDK."""

from __future__ import annotations

from typing import Any

import openai

from stack_core.testing import StackServer

MODEL = "llama-a"


def responses_config(backend: str, providers: dict[str, Any] | None = None, **server: Any) -> dict[str, Any]:
    """A run config serving Responses and Conversations; ``providers`` adds (or replaces) APIs."""
    return {
        "version": 2,
        "providers": {
            "inference": [
                {"provider_id": "vllm", "provider_type": "remote::vllm", "config": {"url": f"{backend}/v1"}}
            ],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
            "conversations": [{"provider_id": "conversations", "provider_type": "inline::builtin"}],
            **(providers or {}),
        },
        "server": server,
    }


def sdk(server: StackServer, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, timeout=60)
