"""The ``notes`` API: its request/response models, provider protocol and route declarations."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from stack_core import ApiSpec, Route

__all__ = [
    "NOTES_API",
    "CreateNoteRequest",
    "ListNotesRequest",
    "ListNotesResponse",
    "Note",
    "NoteIdRequest",
    "NotesProvider",
]


class Note(BaseModel):
    id: str = Field(description="Note identifier, `note-...`.")
    object: Literal["note"] = "note"
    title: str
    content: str
    tags: list[str] = Field(default_factory=list)
    created_at: int = Field(description="Unix time of creation.")


class CreateNoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    content: str = ""
    tags: list[str] = Field(default_factory=list)


class ListNotesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=100, ge=1, le=1000, description="At most this many, newest first.")


class ListNotesResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Note]


class NoteIdRequest(BaseModel):
    note_id: str


class NotesProvider(Protocol):
    """What a provider of the notes API implements."""

    async def create_note(self, request: CreateNoteRequest) -> Note:
        """Store a new note and return it."""
        ...

    async def list_notes(self, request: ListNotesRequest) -> ListNotesResponse:
        """Notes, newest first."""
        ...

    async def get_note(self, request: NoteIdRequest) -> Note:
        """One note; ``NotFoundError`` if there is none with that id."""
        ...

    async def delete_note(self, request: NoteIdRequest) -> None:
        """Delete a note; ``NotFoundError`` if there is none with that id."""
        ...


NOTES_API = ApiSpec(
    name="notes",
    description="Short text notes, persisted by the provider.",
    protocol=NotesProvider,
    routes=(
        Route("POST", "/v1/notes", "create_note", CreateNoteRequest, Note, summary="Create a note."),
        Route("GET", "/v1/notes", "list_notes", ListNotesRequest, ListNotesResponse, summary="List notes."),
        Route("GET", "/v1/notes/{note_id}", "get_note", NoteIdRequest, Note, summary="Get a note."),
        Route("DELETE", "/v1/notes/{note_id}", "delete_note", NoteIdRequest, None, summary="Delete a note."),
    ),
)
