"""``VectorStoresAdapter``: the Vector stores API over the Files, VectorIO and Inference APIs.

A store is an owned object plus a VectorDB resource registered (as the current user) through the
kernel's registry, on the configured or requested vector_io provider; its id is the store's id.
Attached files are processed by kernel jobs (``ingest.py``), which the stack resumes after a crash.
"""

from __future__ import annotations

import logging
import time
import uuid

from stack_core import (
    AttachFileRequest,
    CreateFileBatchRequest,
    CreateVectorStoreRequest,
    NotFoundError,
    PluginError,
    ProviderContext,
    SearchVectorStoreRequest,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreSearchResponse,
    new_job_id,
    paginate,
)
from stack_core.apis.vector_stores import (
    BatchFile,
    ChunkingStrategy,
    FileBatchRequest,
    ListFileBatchFilesRequest,
    ListVectorStoreFilesRequest,
    ListVectorStoresRequest,
    StaticChunkingStrategy,
    TextContent,
    UpdateVectorStoreFileRequest,
    UpdateVectorStoreRequest,
    VectorStoreDeleted,
    VectorStoreFileContent,
    VectorStoreFileDeleted,
    VectorStoreFileList,
    VectorStoreFileRequest,
    VectorStoreIdRequest,
    VectorStoreList,
)

from .config import VectorStoresConfig
from .ingest import Ingestor, file_names
from .records import (
    Body,
    Records,
    Row,
    batch_model,
    file_model,
    file_page,
    refuse_expired,
    store_model,
)
from .search import search
from .vector_dbs import VectorDbs

log = logging.getLogger("stack.vector_stores")


async def create_adapter(config: VectorStoresConfig, context: ProviderContext) -> VectorStoresAdapter:
    """The provider factory: the adapter, its file-processing runner registered with the stack's jobs."""
    adapter = VectorStoresAdapter(config, context)
    adapter.ingestor.register()
    return adapter


class VectorStoresAdapter:
    def __init__(self, config: VectorStoresConfig, context: ProviderContext) -> None:
        self.config, self.context = config, context
        self.records = Records(context)
        self.files = context.files
        self.vector_io = context.vector_io
        if context.jobs is None:
            raise PluginError(
                "inline::vector-stores processes files as jobs: it needs the stack's job service"
            )
        self.ingestor = Ingestor(config, self.files, self.vector_io, self.records, context.jobs)
        self.vector_dbs = VectorDbs(config, context)

    # -- stores --------------------------------------------------------------------------------

    async def create_vector_store(self, request: CreateVectorStoreRequest) -> VectorStore:
        strategy = request.chunking_strategy
        entries = [BatchFile(file_id=f, chunking_strategy=strategy) for f in dict.fromkeys(request.file_ids)]
        names = await file_names(self.files, entries)
        store_id = f"vs_{uuid.uuid4().hex}"
        db = await self.vector_dbs.register(store_id, request)
        now = int(time.time())
        store: Body = {
            "id": store_id,
            "name": request.name or "",
            "description": request.description,
            "created_at": now,
            "last_active_at": now,
            "metadata": request.metadata or {},
            "expires_after": request.expires_after.model_dump() if request.expires_after else None,
            "vector_db_id": db.identifier,
            "embedding_model": db.embedding_model,
            "embedding_dimension": db.embedding_dimension,
            "provider_id": db.provider_id,
        }
        try:
            await self.records.stores.create(store_id, store)
        except BaseException:
            await self.vector_dbs.unregister(db.identifier)
            raise
        records = [await self._attach(store, entry, names[entry.file_id]) for entry in entries]
        return store_model(store, records)

    async def list_vector_stores(self, request: ListVectorStoresRequest) -> VectorStoreList:
        stores = [obj.body for obj in await self.records.stores.list()]
        page, more = paginate(
            [Row(s) for s in stores], request.order, request.limit, request.after, request.before
        )
        data = [store_model(s.body, await self.records.store_files(s.id)) for s in page]
        return VectorStoreList(
            data=data,
            has_more=more,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
        )

    async def retrieve_vector_store(self, request: VectorStoreIdRequest) -> VectorStore:
        store = await self.records.store(request.vector_store_id)
        return store_model(store, await self.records.store_files(store["id"]))

    async def update_vector_store(self, request: UpdateVectorStoreRequest) -> VectorStore:
        store = await self.records.store(request.vector_store_id, "update")
        changes = request.model_dump(include=request.model_fields_set - {"vector_store_id"})
        if "name" in changes and changes["name"] is None:
            del changes["name"]
        store.update(changes)
        if "expires_after" in changes:
            store["last_active_at"] = int(time.time())
        await self.records.stores.update(store["id"], store)
        return store_model(store, await self.records.store_files(store["id"]))

    async def delete_vector_store(self, request: VectorStoreIdRequest) -> VectorStoreDeleted:
        store = await self.records.store(request.vector_store_id, "delete")
        for record in await self.records.store_files(store["id"]):
            if record["status"] == "in_progress":
                await self.ingestor.stop(record)
        await self.vector_dbs.unregister(store["vector_db_id"])
        await self.records.forget_store(store["id"])
        return VectorStoreDeleted(id=store["id"])

    # -- files ---------------------------------------------------------------------------------

    async def attach_file(self, request: AttachFileRequest) -> VectorStoreFile:
        store = await self._writable(request.vector_store_id)
        entry = BatchFile(
            file_id=request.file_id,
            attributes=request.attributes,
            chunking_strategy=request.chunking_strategy,
        )
        names = await file_names(self.files, [entry])
        return file_model(await self._attach(store, entry, names[entry.file_id]))

    async def list_files(self, request: ListVectorStoreFilesRequest) -> VectorStoreFileList:
        await self.records.store(request.vector_store_id)
        return file_page(await self.records.store_files(request.vector_store_id), request)

    async def retrieve_file(self, request: VectorStoreFileRequest) -> VectorStoreFile:
        await self.records.store(request.vector_store_id)
        return file_model(await self.records.file(request.vector_store_id, request.file_id))

    async def update_file(self, request: UpdateVectorStoreFileRequest) -> VectorStoreFile:
        store = await self._writable(request.vector_store_id)
        current = await self.records.file(store["id"], request.file_id, "update")
        strategy = StaticChunkingStrategy.model_validate(current["chunking_strategy"])
        entry = BatchFile(file_id=request.file_id, attributes=request.attributes, chunking_strategy=strategy)
        return file_model(await self._attach(store, entry, current["filename"], force=True))

    async def delete_file(self, request: VectorStoreFileRequest) -> VectorStoreFileDeleted:
        store = await self.records.store(request.vector_store_id, "update")
        record = await self.records.file(store["id"], request.file_id, "delete")
        await self.ingestor.stop(record)
        count = int(record.get("chunk_count") or 0)
        await self.ingestor.delete_chunks(store["vector_db_id"], store["id"], record["id"], count)
        await self.records.forget_file(store["id"], record["id"])
        return VectorStoreFileDeleted(id=record["id"])

    async def file_content(self, request: VectorStoreFileRequest) -> VectorStoreFileContent:
        await self.records.store(request.vector_store_id)
        record = await self.records.file(request.vector_store_id, request.file_id)
        parts = await self.records.content(request.vector_store_id, request.file_id)
        return VectorStoreFileContent(
            data=[TextContent(text=p) for p in parts if p.strip()],
            file_id=record["id"],
            filename=record["filename"],
            attributes=record.get("attributes") or {},
        )

    # -- batches -------------------------------------------------------------------------------

    async def create_file_batch(self, request: CreateFileBatchRequest) -> VectorStoreFileBatch:
        store = await self._writable(request.vector_store_id)
        entries = request.entries()
        names = await file_names(self.files, entries)
        batch_id = f"vsfb_{uuid.uuid4().hex}"
        batch: Body = {
            "id": batch_id,
            "vector_store_id": store["id"],
            "created_at": int(time.time()),
            "file_ids": [e.file_id for e in entries],
            "cancelled": False,
        }
        await self.records.batches.create(f"{store['id']}/{batch_id}", batch)
        records = [await self._attach(store, e, names[e.file_id], batch_id) for e in entries]
        return batch_model(batch, records)

    async def retrieve_file_batch(self, request: FileBatchRequest) -> VectorStoreFileBatch:
        batch, files = await self._batch(request.vector_store_id, request.batch_id)
        return batch_model(batch, files)

    async def list_file_batch_files(self, request: ListFileBatchFilesRequest) -> VectorStoreFileList:
        _, files = await self._batch(request.vector_store_id, request.batch_id)
        return file_page(files, request)

    async def cancel_file_batch(self, request: FileBatchRequest) -> VectorStoreFileBatch:
        await self.records.store(request.vector_store_id, "update")
        batch, files = await self._batch(request.vector_store_id, request.batch_id)
        batch["cancelled"] = True
        await self.records.batches.update(f"{batch['vector_store_id']}/{batch['id']}", batch)
        for record in files:
            if record["status"] != "in_progress":
                continue
            await self.ingestor.stop(record)  # a run here has cleaned up and recorded the cancel
            current = await self.records.find_file(record["vector_store_id"], record["id"])
            if current and current.get("run") == record["run"] and current["status"] == "in_progress":
                # queued, or running in another worker: that run sees the cancel and cleans up
                await self.records.update_file(record["vector_store_id"], record["id"], status="cancelled")
        _, files = await self._batch(request.vector_store_id, request.batch_id)
        return batch_model(batch, files)

    async def search(self, request: SearchVectorStoreRequest) -> VectorStoreSearchResponse:
        store = await self.records.store(request.vector_store_id)
        refuse_expired(store)
        result = await search(self.vector_io, store, request)
        await self.records.touch(store)
        return result

    # -- helpers -------------------------------------------------------------------------------

    async def _writable(self, store_id: str) -> Body:
        store = await self.records.store(store_id, "update")
        refuse_expired(store)
        await self.records.touch(store)
        return store

    async def _batch(self, store_id: str, batch_id: str) -> tuple[Body, list[Body]]:
        await self.records.store(store_id)
        try:
            batch = (await self.records.batches.get(f"{store_id}/{batch_id}")).body
        except NotFoundError:
            raise NotFoundError(
                f"No file batch '{batch_id}' in vector store '{store_id}'.", param="batch_id"
            ) from None
        wanted = set(batch["file_ids"])
        files = [f for f in await self.records.store_files(store_id) if f["id"] in wanted]
        return batch, files

    async def _attach(
        self, store: Body, entry: BatchFile, filename: str, batch_id: str | None = None, force: bool = False
    ) -> Body:
        """Record the file ``in_progress`` and submit the job processing it (a no-op while a job is
        already processing it, unless ``force``: then that job is cancelled first)."""
        existing = await self.records.find_file(store["id"], entry.file_id)
        if existing and existing["status"] == "in_progress":
            if not force and await self.ingestor.active(existing):
                return existing
            await self.ingestor.stop(existing)
        record: Body = {
            "id": entry.file_id,
            "vector_store_id": store["id"],
            "created_at": existing["created_at"] if existing else int(time.time()),
            "status": "in_progress",
            "last_error": None,
            "attributes": entry.attributes or {},
            "chunking_strategy": self._static(entry.chunking_strategy),
            "usage_bytes": 0,
            "chunk_count": int(existing.get("chunk_count") or 0) if existing else 0,
            "filename": filename,
            "batch_id": batch_id,
            "run": new_job_id(),
        }
        await self.records.put_file(record, exists=existing is not None)
        await self.ingestor.submit(record)
        return record

    def _static(self, strategy: ChunkingStrategy | None) -> Body:
        if strategy is not None and strategy.type == "static":
            return strategy.model_dump()
        size, overlap = self.config.chunk_size_tokens, self.config.chunk_overlap_tokens
        return {"type": "static", "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}}
