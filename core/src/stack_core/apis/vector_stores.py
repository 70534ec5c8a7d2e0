"""The Vector stores API (OpenAI shape): stores of files, chunked, embedded and searchable.

``/v1/vector_stores`` (create, list, retrieve, update, delete), ``/{id}/files`` (attach, list,
retrieve, update attributes, detach, ``/content``), ``/{id}/file_batches`` (create, retrieve, list
files, cancel) and ``POST /{id}/search``, with the ``/v1/openai/v1/...`` aliases
``llama-stack-client==0.2.12`` uses. Shapes are those the official ``openai`` SDK reads; Stack's
extensions are ``embedding_model``, ``embedding_dimension`` and ``provider_id`` at creation (which
vector_io provider holds the chunks) and ``search_mode`` at search. Served by one provider
(``inline::vector-stores``), which keeps stores and files as owned objects (access-controlled).

Field names and shapes are those of the OpenAI API as the official ``openai`` SDK reads them
(``openai.types.vector_store*``, ``openai.types.vector_stores.*``); Stack's additions say so.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from ..fields import MAX_DIMENSION, Identifier, JsonObject
from ..spec import ApiModel, ApiSpec, Route
from .vector_io import MetadataFilter

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

FileStatus = Literal["in_progress", "completed", "cancelled", "failed"]


class _Strict(ApiModel):
    model_config = ConfigDict(extra="forbid")


class StaticChunking(_Strict):
    max_chunk_size_tokens: int = Field(ge=100, le=4096, description="Tokens per chunk.")
    chunk_overlap_tokens: int = Field(ge=0, description="Tokens shared by neighbours (≤ half a chunk).")

    @model_validator(mode="after")
    def _overlap_at_most_half(self) -> StaticChunking:
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            raise ValueError("chunk_overlap_tokens must not exceed half of max_chunk_size_tokens")
        return self


class AutoChunkingStrategy(_Strict):
    type: Literal["auto"] = "auto"


class StaticChunkingStrategy(_Strict):
    type: Literal["static"] = "static"
    static: StaticChunking


ChunkingStrategy = Annotated[AutoChunkingStrategy | StaticChunkingStrategy, Field(discriminator="type")]


def _check_attributes(value: dict[str, str | int | float | bool]) -> dict[str, str | int | float | bool]:
    if len(value) > 16:
        raise ValueError("at most 16 attributes")
    for key, item in value.items():
        if len(key) > 64 or (isinstance(item, str) and len(item) > 512):
            raise ValueError(f"attribute '{key[:64]}': keys ≤ 64 characters, string values ≤ 512")
    return value


Attributes = Annotated[dict[str, str | int | float | bool], AfterValidator(_check_attributes)]


class ExpiresAfter(_Strict):
    anchor: Literal["last_active_at"] = "last_active_at"
    days: int = Field(ge=1, le=365)


class FileCounts(ApiModel):
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0


class VectorStore(ApiModel):
    id: str
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str
    description: str | None = None
    usage_bytes: int = 0
    file_counts: FileCounts
    status: Literal["expired", "in_progress", "completed"]
    expires_after: ExpiresAfter | None = None
    expires_at: int | None = None
    last_active_at: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedding_model: str | None = None
    embedding_dimension: int | None = None
    provider_id: str | None = None


class CreateVectorStoreRequest(_Strict):
    name: Identifier | None = None
    description: str | None = None
    file_ids: list[str] = Field(default_factory=list, description="Files (POST /v1/files) to attach.")
    chunking_strategy: ChunkingStrategy | None = None
    metadata: JsonObject | None = Field(default=None, description="Up to 16 key-value pairs.")
    expires_after: ExpiresAfter | None = None
    embedding_model: str | None = Field(default=None, description="Stack: embedding model to use.")
    embedding_dimension: int | None = Field(
        default=None, ge=1, le=MAX_DIMENSION, description="Stack: its dimension."
    )
    provider_id: str | None = Field(default=None, description="Stack: vector_io provider for the chunks.")
    provider_vector_db_id: str | None = Field(default=None, description="Stack: collection name there.")


class Page(_Strict):
    after: str | None = Field(default=None, description="Cursor: objects after this id.")
    before: str | None = Field(default=None, description="Cursor: objects before this id.")
    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"


class ListVectorStoresRequest(Page):
    pass


class VectorStoreList(ApiModel):
    object: Literal["list"] = "list"
    data: list[VectorStore]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class VectorStoreIdRequest(_Strict):
    vector_store_id: Identifier


class UpdateVectorStoreRequest(VectorStoreIdRequest):
    name: Identifier | None = None
    metadata: JsonObject | None = None
    expires_after: ExpiresAfter | None = Field(default=None, description="null removes the policy.")


class VectorStoreDeleted(ApiModel):
    id: str
    object: Literal["vector_store.deleted"] = "vector_store.deleted"
    deleted: bool = True


class AttachFileRequest(VectorStoreIdRequest):
    file_id: Identifier
    attributes: Attributes | None = Field(default=None, description="Filterable at search.")
    chunking_strategy: ChunkingStrategy | None = None


class VectorStoreFileError(ApiModel):
    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class VectorStoreFile(ApiModel):
    id: str
    object: Literal["vector_store.file"] = "vector_store.file"
    created_at: int
    vector_store_id: Identifier
    status: FileStatus
    usage_bytes: int = 0
    last_error: VectorStoreFileError | None = None
    attributes: Attributes = Field(default_factory=dict)
    chunking_strategy: StaticChunkingStrategy


class ListVectorStoreFilesRequest(VectorStoreIdRequest, Page):
    filter: FileStatus | None = None


class VectorStoreFileList(ApiModel):
    object: Literal["list"] = "list"
    data: list[VectorStoreFile]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class VectorStoreFileRequest(VectorStoreIdRequest):
    file_id: Identifier


class UpdateVectorStoreFileRequest(VectorStoreFileRequest):
    attributes: Attributes | None


class VectorStoreFileDeleted(ApiModel):
    id: str
    object: Literal["vector_store.file.deleted"] = "vector_store.file.deleted"
    deleted: bool = True


class TextContent(ApiModel):
    type: Literal["text"] = "text"
    text: str


class VectorStoreFileContent(ApiModel):
    object: Literal["vector_store.file_content.page"] = "vector_store.file_content.page"
    data: list[TextContent]
    has_more: bool = False
    next_page: str | None = None
    file_id: Identifier
    filename: str
    attributes: Attributes = Field(default_factory=dict)


class BatchFile(_Strict):
    file_id: Identifier
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None


class CreateFileBatchRequest(VectorStoreIdRequest):
    file_ids: list[str] | None = None
    files: list[BatchFile] | None = Field(default=None, description="Per-file attributes/chunking.")
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None

    @model_validator(mode="after")
    def _one_list(self) -> CreateFileBatchRequest:
        if bool(self.file_ids) == bool(self.files):
            raise ValueError("give exactly one of file_ids and files, not empty")
        return self

    def entries(self) -> list[BatchFile]:
        """The batch as per-file entries (``file_ids`` with the shared attributes/chunking)."""
        if self.files:
            return self.files
        shared = {"attributes": self.attributes, "chunking_strategy": self.chunking_strategy}
        return [BatchFile(file_id=f, **shared) for f in dict.fromkeys(self.file_ids or [])]


class VectorStoreFileBatch(ApiModel):
    id: str
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"
    created_at: int
    vector_store_id: Identifier
    status: FileStatus
    file_counts: FileCounts


class FileBatchRequest(VectorStoreIdRequest):
    batch_id: str


class ListFileBatchFilesRequest(ListVectorStoreFilesRequest):
    batch_id: str


class RankingOptions(_Strict):
    ranker: Literal["none", "auto", "default-2024-11-15"] | None = None
    score_threshold: float | None = Field(default=None, description="Drop results scoring below this.")


class SearchVectorStoreRequest(VectorStoreIdRequest):
    query: str | list[str] = Field(description="One query, or several (results merged).")
    filters: MetadataFilter | None = Field(default=None, description="On file attributes.")
    max_num_results: int = Field(default=10, ge=1, le=50)
    ranking_options: RankingOptions | None = None
    rewrite_query: bool = False
    search_mode: Literal["vector", "keyword", "hybrid"] = Field(default="vector", description="Stack.")

    @field_validator("query")
    @classmethod
    def _some_text(cls, value: str | list[str]) -> str | list[str]:
        queries = [value] if isinstance(value, str) else value
        if not queries or not all(q.strip() for q in queries):
            raise ValueError("query must be non-empty text (or a list of them)")
        return value


class VectorStoreSearchResult(ApiModel):
    file_id: Identifier
    filename: str
    score: float
    attributes: Attributes = Field(default_factory=dict)
    content: list[TextContent]


class VectorStoreSearchResponse(ApiModel):
    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: str
    data: list[VectorStoreSearchResult]
    has_more: bool = False
    next_page: str | None = None


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
