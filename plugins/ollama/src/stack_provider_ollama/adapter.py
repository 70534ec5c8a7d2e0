"""Ollama serves the OpenAI API under /v1; its model list comes from its own /api/tags."""

from __future__ import annotations

from stack_core.kits.openai_compat import OpenAICompatClient, openai_compat_factory


async def list_ollama_models(client: OpenAICompatClient) -> list[str]:
    tags = await client.get_json(f"{client.origin}/api/tags")
    return [str(m["name"]) for m in tags.get("models", [])]


create_adapter = openai_compat_factory(list_ollama_models, path="/v1")
