"""Configuration of the TGI provider."""

from __future__ import annotations

from pydantic import Field

from stack_core import RemoteInferenceConfig


class TGIConfig(RemoteInferenceConfig):
    url: str = Field(default="http://localhost:8080", description="TGI server URL (without /v1).")
