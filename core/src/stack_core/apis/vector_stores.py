"""The Vector stores API (OpenAI shape): stores of files, chunked, embedded and searchable.

``/v1/vector_stores`` (create, list, retrieve, update, delete), ``/{id}/files`` (attach, list,
retrieve, update attributes, detach, ``/content``), ``/{id}/file_batches`` (create, retrieve, list
files, cancel) and ``POST /{id}/search``, with the ``/v1/openai/v1/...`` aliases
``llama-stack-client==0.2.12`` uses. Shapes are those the official ``openai`` SDK reads; Stack's
extensions are ``embedding_model``, ``embedding_dimension`` and ``provider_id`` at creation (which
vector_io provider holds the chunks) and ``search_mode`` at search. Served by one provider
(``inline::vector-stores``), which keeps stores and files as owned objects (access-controlled).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from ..spec import ApiSpec, Route
from .vector_store_models import (
    AttachFileRequest,
    AutoChunkingStrategy,
    BatchFile,
    ChunkingStrategy,
    CreateFileBatchRequest,
    CreateVectorStoreRequest,
    ExpiresAfter,
    FileBatchRequest,
    FileCounts,
    ListFileBatchFilesRequest,
    ListVectorStoreFilesRequest,
    ListVectorStoresRequest,
    RankingOptions,
    SearchVectorStoreRequest,
    StaticChunking,
    StaticChunkingStrategy,
    TextContent,
    UpdateVectorStoreFileRequest,
    UpdateVectorStoreRequest,
    VectorStore,
    VectorStoreDeleted,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileContent,
    VectorStoreFileDeleted,
    VectorStoreFileError,
    VectorStoreFileList,
    VectorStoreFileRequest,
    VectorStoreIdRequest,
    VectorStoreList,
    VectorStoreSearchResponse,
    VectorStoreSearchResult,
)

__all__ = [
    "VECTOR_STORES_API",
    "AttachFileRequest",
    "AutoChunkingStrategy",
    "BatchFile",
    "ChunkingStrategy",
    "CreateFileBatchRequest",
    "CreateVectorStoreRequest",
    "ExpiresAfter",
    "FileBatchRequest",
    "FileCounts",
    "ListFileBatchFilesRequest",
    "ListVectorStoreFilesRequest",
    "ListVectorStoresRequest",
    "RankingOptions",
    "SearchVectorStoreRequest",
    "StaticChunking",
    "StaticChunkingStrategy",
    "TextContent",
    "UpdateVectorStoreFileRequest",
    "UpdateVectorStoreRequest",
    "VectorStore",
    "VectorStoreDeleted",
    "VectorStoreFile",
    "VectorStoreFileBatch",
    "VectorStoreFileContent",
    "VectorStoreFileDeleted",
    "VectorStoreFileError",
    "VectorStoreFileList",
    "VectorStoreFileRequest",
    "VectorStoreIdRequest",
    "VectorStoreList",
    "VectorStoreSearchResponse",
    "VectorStoreSearchResult",
    "VectorStoresProvider",
]


class VectorStoresProvider(Protocol):
    """What the vector stores provider implements. Files are processed in the background: attach
    returns ``in_progress`` and clients poll the file (or batch) until it is done."""

    async def create_vector_store(self, request: CreateVectorStoreRequest) -> VectorStore:
        """Create a store (and its vector DB); attach ``file_ids``."""
        ...

    async def list_vector_stores(self, request: ListVectorStoresRequest) -> VectorStoreList: ...

    async def retrieve_vector_store(self, request: VectorStoreIdRequest) -> VectorStore: ...

    async def update_vector_store(self, request: UpdateVectorStoreRequest) -> VectorStore: ...

    async def delete_vector_store(self, request: VectorStoreIdRequest) -> VectorStoreDeleted:
        """Delete the store, its files' chunks and its vector DB."""
        ...

    async def attach_file(self, request: AttachFileRequest) -> VectorStoreFile:
        """Start processing a file into the store (extract, chunk, embed, insert)."""
        ...

    async def list_files(self, request: ListVectorStoreFilesRequest) -> VectorStoreFileList: ...

    async def retrieve_file(self, request: VectorStoreFileRequest) -> VectorStoreFile: ...

    async def update_file(self, request: UpdateVectorStoreFileRequest) -> VectorStoreFile:
        """Replace a file's attributes (its chunks are re-indexed with them)."""
        ...

    async def delete_file(self, request: VectorStoreFileRequest) -> VectorStoreFileDeleted:
        """Detach a file: its chunks are deleted (the file itself stays in the Files API)."""
        ...

    async def file_content(self, request: VectorStoreFileRequest) -> VectorStoreFileContent:
        """The text extracted from a processed file."""
        ...

    async def create_file_batch(self, request: CreateFileBatchRequest) -> VectorStoreFileBatch: ...

    async def retrieve_file_batch(self, request: FileBatchRequest) -> VectorStoreFileBatch: ...

    async def list_file_batch_files(self, request: ListFileBatchFilesRequest) -> VectorStoreFileList: ...

    async def cancel_file_batch(self, request: FileBatchRequest) -> VectorStoreFileBatch:
        """Stop processing the batch's files still in progress (they end ``cancelled``)."""
        ...

    async def search(self, request: SearchVectorStoreRequest) -> VectorStoreSearchResponse:
        """The best chunks for the query, best first, filtered on file attributes."""
        ...


_STORE, _FILE = "/v1/vector_stores/{vector_store_id}", "/v1/vector_stores/{vector_store_id}/files/{file_id}"
_BATCH = "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}"


def _route(
    method: Literal["GET", "POST", "DELETE"], path: str, name: str, request: Any, response: Any
) -> Route:
    summary = (VectorStoresProvider.__dict__[name].__doc__ or name.replace("_", " ")).split("\n")[0]
    return Route(method, path, name, request, response, aliases=("/v1/openai" + path,), summary=summary)


VECTOR_STORES_API = ApiSpec(
    name="vector_stores",
    description="OpenAI-compatible vector stores: files chunked, embedded (vector_io) and searchable.",
    protocol=VectorStoresProvider,
    routes=(
        _route("POST", "/v1/vector_stores", "create_vector_store", CreateVectorStoreRequest, VectorStore),
        _route("GET", "/v1/vector_stores", "list_vector_stores", ListVectorStoresRequest, VectorStoreList),
        _route("GET", _STORE, "retrieve_vector_store", VectorStoreIdRequest, VectorStore),
        _route("POST", _STORE, "update_vector_store", UpdateVectorStoreRequest, VectorStore),
        _route("DELETE", _STORE, "delete_vector_store", VectorStoreIdRequest, VectorStoreDeleted),
        _route("POST", f"{_STORE}/files", "attach_file", AttachFileRequest, VectorStoreFile),
        _route("GET", f"{_STORE}/files", "list_files", ListVectorStoreFilesRequest, VectorStoreFileList),
        _route("GET", _FILE, "retrieve_file", VectorStoreFileRequest, VectorStoreFile),
        _route("POST", _FILE, "update_file", UpdateVectorStoreFileRequest, VectorStoreFile),
        _route("DELETE", _FILE, "delete_file", VectorStoreFileRequest, VectorStoreFileDeleted),
        _route("GET", f"{_FILE}/content", "file_content", VectorStoreFileRequest, VectorStoreFileContent),
        _route(
            "POST",
            f"{_STORE}/file_batches",
            "create_file_batch",
            CreateFileBatchRequest,
            VectorStoreFileBatch,
        ),
        _route("GET", _BATCH, "retrieve_file_batch", FileBatchRequest, VectorStoreFileBatch),
        _route(
            "GET", f"{_BATCH}/files", "list_file_batch_files", ListFileBatchFilesRequest, VectorStoreFileList
        ),
        _route("POST", f"{_BATCH}/cancel", "cancel_file_batch", FileBatchRequest, VectorStoreFileBatch),
        _route("POST", f"{_STORE}/search", "search", SearchVectorStoreRequest, VectorStoreSearchResponse),
    ),
)
