"""The Files API (OpenAI shape): upload (multipart), list, retrieve, delete, content.

Served by a single provider (``inline::localfs`` by default). Files are per-user objects: the
provider keeps their metadata in the kernel's owned-object store, which applies access control.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator

from ..fields import MAX_IDENTIFIER, Identifier, check_identifier
from ..payloads import BinaryContent, FileUpload
from ..spec import ApiModel, ApiSpec, Route

__all__ = [
    "FILES_API",
    "CreateFileRequest",
    "DeleteFileResponse",
    "FileContentRequest",
    "FileIdRequest",
    "FileObject",
    "FileUpload",
    "FilesProvider",
    "ListFilesRequest",
    "ListFilesResponse",
]

PREFIX = "/v1/openai"


class CreateFileRequest(ApiModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    file: Annotated[FileUpload, WithJsonSchema({"type": "string", "format": "binary"})] = Field(
        description="The file (multipart form field)."
    )
    purpose: str = Field(description="assistants, batch, fine-tune, vision, user_data or evals.")
    expires_after_seconds: int | None = Field(
        default=None, ge=3600, le=2592000, alias="expires_after[seconds]", description="1 hour to 30 days."
    )
    expires_after_anchor: str | None = Field(default=None, alias="expires_after[anchor]")

    @field_validator("file")
    @classmethod
    def _named(cls, file: FileUpload) -> FileUpload:
        if len(file.filename) > MAX_IDENTIFIER:
            raise ValueError(f"the file name is longer than {MAX_IDENTIFIER} characters")
        check_identifier(file.filename)
        return file


class FileObject(ApiModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    expires_at: int | None = None
    filename: str
    purpose: str
    status: Literal["uploaded", "processed", "error"] = "processed"


class ListFilesRequest(ApiModel):
    after: str | None = Field(default=None, description="Cursor: list objects after this id.")
    limit: int = Field(default=10000, ge=1, le=10000)
    order: Literal["asc", "desc"] = "desc"
    purpose: str | None = None


class ListFilesResponse(ApiModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    has_more: bool
    first_id: str | None = None
    last_id: str | None = None


class FileIdRequest(ApiModel):
    file_id: Identifier


class FileContentRequest(FileIdRequest):
    pass


class DeleteFileResponse(ApiModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool


class FilesProvider(Protocol):
    async def create_file(self, request: CreateFileRequest) -> FileObject: ...

    async def list_files(self, request: ListFilesRequest) -> ListFilesResponse: ...

    async def retrieve_file(self, request: FileIdRequest) -> FileObject: ...

    async def delete_file(self, request: FileIdRequest) -> DeleteFileResponse: ...

    async def file_content(self, request: FileContentRequest) -> BinaryContent: ...


def _openai(path: str) -> tuple[str, ...]:
    return (PREFIX + path,)


FILES_API = ApiSpec(
    name="files",
    description="OpenAI-compatible file storage.",
    protocol=FilesProvider,
    routes=(
        Route(
            "POST",
            "/v1/files",
            "create_file",
            CreateFileRequest,
            FileObject,
            aliases=_openai("/v1/files"),
            summary="Upload a file (multipart/form-data).",
        ),
        Route(
            "GET",
            "/v1/files",
            "list_files",
            ListFilesRequest,
            ListFilesResponse,
            aliases=_openai("/v1/files"),
            summary="List files.",
        ),
        Route(
            "GET",
            "/v1/files/{file_id}",
            "retrieve_file",
            FileIdRequest,
            FileObject,
            aliases=_openai("/v1/files/{file_id}"),
            summary="Get a file's metadata.",
        ),
        Route(
            "DELETE",
            "/v1/files/{file_id}",
            "delete_file",
            FileIdRequest,
            DeleteFileResponse,
            aliases=_openai("/v1/files/{file_id}"),
            summary="Delete a file.",
        ),
        Route(
            "GET",
            "/v1/files/{file_id}/content",
            "file_content",
            FileContentRequest,
            bytes,
            aliases=_openai("/v1/files/{file_id}/content"),
            summary="A file's content.",
        ),
    ),
)
