"""One config class for the whole hosted family; each service only changes the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, create_model

from stack_core import RemoteInferenceConfig


@dataclass(frozen=True)
class Hosted:
    """An OpenAI-compatible hosted service."""

    name: str
    url: str
    key_env: str
    title: str

    @property
    def provider_data_key(self) -> str:
        return f"{self.name}_api_key"


HOSTED = (
    Hosted("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "OpenAI"),
    Hosted("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY", "Together AI"),
    Hosted("fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", "Fireworks AI"),
    Hosted("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "Groq"),
    Hosted("sambanova", "https://api.sambanova.ai/v1", "SAMBANOVA_API_KEY", "SambaNova"),
    Hosted("cerebras", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY", "Cerebras"),
    Hosted("deepinfra", "https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY", "DeepInfra"),
    Hosted("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OpenRouter"),
)


def config_for(service: Hosted) -> type[RemoteInferenceConfig]:
    """``RemoteInferenceConfig`` with this service's URL and provider-data key as defaults."""
    fields: dict[str, Any] = {
        "url": (str, Field(default=service.url, description=f"{service.title} API base URL.")),
        "provider_data_key": (
            str | None,
            Field(
                default=service.provider_data_key,
                description="Key in the X-Stack-Provider-Data header holding a per-request API key.",
            ),
        ),
    }
    model: type[RemoteInferenceConfig] = create_model(
        f"{service.title.replace(' ', '')}Config", __base__=RemoteInferenceConfig, **fields
    )
    return model
