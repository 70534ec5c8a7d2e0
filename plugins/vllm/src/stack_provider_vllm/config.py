"""Configuration of the vLLM provider."""

from __future__ import annotations

from pydantic import Field

from stack_core import RemoteInferenceConfig


class VLLMConfig(RemoteInferenceConfig):
    url: str = Field(default="http://localhost:8000/v1", description="vLLM's OpenAI API base URL.")
