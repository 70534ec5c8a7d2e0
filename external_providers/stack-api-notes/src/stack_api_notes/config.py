"""Configuration of the ``inline::notes-sqlite`` provider."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class NotesSqliteConfig(BaseModel):
    """Config block of an ``inline::notes-sqlite`` provider; every field has a default."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(
        default="notes",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Table name, prefixed by the store's namespace if it has one.",
    )
    max_content_chars: int = Field(default=100_000, ge=1, description="Longest note content accepted.")
