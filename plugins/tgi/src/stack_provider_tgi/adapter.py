"""TGI serves one model, named by GET /info, and the OpenAI chat API under /v1."""

from __future__ import annotations

from stack_core.kits.openai_compat import OpenAICompatClient, openai_compat_factory


async def list_tgi_model(client: OpenAICompatClient) -> list[str]:
    info = await client.get_json(f"{client.origin}/info")
    return [str(info["model_id"])]


create_adapter = openai_compat_factory(list_tgi_model, path="/v1")
