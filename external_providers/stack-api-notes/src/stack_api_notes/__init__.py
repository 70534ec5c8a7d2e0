"""stack-api-notes: a ``notes`` API for Stack and its SQL-backed provider ``inline::notes-sqlite``.

Found through the ``stack`` entry-point group; it uses only the public ``stack_core`` API.
"""

from __future__ import annotations

from collections.abc import Callable

from stack_core import ApiSpec, hookimpl

from .api import (
    NOTES_API,
    CreateNoteRequest,
    ListNotesRequest,
    ListNotesResponse,
    Note,
    NoteIdRequest,
    NotesProvider,
)
from .config import NotesSqliteConfig
from .provider import NotesSqlite, create_provider

__all__ = [
    "NOTES_API",
    "CreateNoteRequest",
    "ListNotesRequest",
    "ListNotesResponse",
    "Note",
    "NoteIdRequest",
    "NotesProvider",
    "NotesSqlite",
    "NotesSqliteConfig",
    "create_provider",
]


@hookimpl
def stack_register_apis(register: Callable[[ApiSpec], None]) -> None:
    register(NOTES_API)


@hookimpl
def stack_register_providers(register: Callable[..., None]) -> None:
    register(
        api="notes",
        provider_type="inline::notes-sqlite",
        config=NotesSqliteConfig,
        factory=create_provider,
        sample_config={},
        description="Notes kept in the stack's SQL database (SQLite by default).",
    )
