"""Configuration of the Ollama provider."""

from __future__ import annotations

from pydantic import Field

from stack_core import RemoteInferenceConfig


class OllamaConfig(RemoteInferenceConfig):
    url: str = Field(default="http://localhost:11434", description="Ollama server URL (without /v1).")
