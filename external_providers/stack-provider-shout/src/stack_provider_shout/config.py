"""Configuration of the shout provider."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ShoutConfig(BaseModel):
    """Config block of an ``inline::shout`` provider."""

    model_config = ConfigDict(extra="forbid")

    suffix: str = Field(default="!", description="Appended to every reply.")
