"""Configuration of the local-filesystem Files provider."""

from __future__ import annotations

from pydantic import Field

from stack_core import ConfigModel


class LocalFSConfig(ConfigModel):
    storage_dir: str | None = Field(default=None, description="Where content is kept (default: state dir).")
    max_file_bytes: int = Field(default=512 * 1024 * 1024, ge=1, description="Largest accepted upload.")
    upload_deadline: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds an upload may take to be recorded; content files older than this with no "
        "record (a crash mid-upload) are removed at start-up.",
    )
    purposes: list[str] = Field(
        default=["assistants", "batch", "fine-tune", "vision", "user_data", "evals"],
        description="Accepted `purpose` values.",
    )
