"""Files on disk, metadata in the kernel's owned-object store.

An upload is copied from the server's spooled temporary file to ``<id>.part``, synced, renamed to
``<id>``, then recorded. A crash between the copy and the record leaves content with no metadata:
at start-up, content files older than ``upload_deadline`` that no record names are removed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import BinaryIO

from stack_core import BadRequestError, BinaryContent, OwnedObject, PayloadTooLargeError, ProviderContext
from stack_core.apis.files import (
    CreateFileRequest,
    DeleteFileResponse,
    FileContentRequest,
    FileIdRequest,
    FileObject,
    ListFilesRequest,
    ListFilesResponse,
)

from .config import LocalFSConfig

log = logging.getLogger("stack.localfs")
COPY_BLOCK = 1024 * 1024


class LocalFSFiles:
    def __init__(self, config: LocalFSConfig, context: ProviderContext) -> None:
        self.config = config
        self.root = (
            Path(config.storage_dir).expanduser() if config.storage_dir else context.state_dir / "files"
        )
        self.root.mkdir(parents=True, exist_ok=True)
        self.objects = context.owned_objects("file")

    def _path(self, file_id: str) -> Path:
        return self.root / file_id

    @staticmethod
    def _file(obj: OwnedObject) -> FileObject:
        return FileObject.model_validate(obj.body)

    def _write(self, file_id: str, source: BinaryIO) -> None:
        temporary = self._path(file_id).with_suffix(".part")
        source.seek(0)
        with temporary.open("wb") as handle:
            shutil.copyfileobj(source, handle, COPY_BLOCK)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self._path(file_id))

    async def sweep(self) -> list[str]:
        """Remove content files (and ``.part`` leftovers) older than ``upload_deadline`` that no
        record names: what a crash mid-upload left. Their names, for the log."""
        recorded = {o.identifier for o in await self.objects.everyone()}
        cutoff = time.time() - self.config.upload_deadline

        def orphans() -> list[str]:
            removed = []
            for path in self.root.iterdir():
                stale = path.is_file() and path.stat().st_mtime < cutoff
                if stale and (path.suffix == ".part" or path.name not in recorded):
                    path.unlink(missing_ok=True)
                    removed.append(path.name)
            return removed

        removed = await asyncio.to_thread(orphans)
        if removed:
            log.warning("localfs: removed %d file(s) a crash left without metadata", len(removed))
        return removed

    async def create_file(self, request: CreateFileRequest) -> FileObject:
        upload = request.file
        if request.purpose not in self.config.purposes:
            raise BadRequestError(
                f"purpose must be one of {', '.join(self.config.purposes)}.", param="purpose"
            )
        if not upload.size:
            raise BadRequestError("The uploaded file is empty.", param="file")
        if upload.size > self.config.max_file_bytes:
            raise PayloadTooLargeError(
                f"The file is {upload.size} bytes; the limit is {self.config.max_file_bytes} bytes.",
                param="file",
            )
        file_id = f"file-{uuid.uuid4().hex}"
        created = int(time.time())
        expires = created + request.expires_after_seconds if request.expires_after_seconds else None
        meta = FileObject(
            id=file_id,
            bytes=upload.size,
            created_at=created,
            expires_at=expires,
            filename=request.file.filename,
            purpose=request.purpose,
        )
        await asyncio.to_thread(self._write, file_id, upload.file)
        try:
            await self.objects.create(
                file_id, {**meta.model_dump(), "content_type": request.file.content_type}
            )
        except BaseException:
            self._path(file_id).unlink(missing_ok=True)
            raise
        return meta

    async def list_files(self, request: ListFilesRequest) -> ListFilesResponse:
        files = [self._file(o) for o in await self.objects.list()]  # oldest first
        if request.purpose:
            files = [f for f in files if f.purpose == request.purpose]
        if request.order == "desc":
            files.reverse()
        if request.after:
            ids = [f.id for f in files]
            files = files[ids.index(request.after) + 1 :] if request.after in ids else []
        page = files[: request.limit]
        return ListFilesResponse(
            data=page,
            has_more=len(files) > len(page),
            first_id=page[0].id if page else None,
            last_id=page[-1].id if page else None,
        )

    async def retrieve_file(self, request: FileIdRequest) -> FileObject:
        return self._file(await self.objects.get(request.file_id))

    async def delete_file(self, request: FileIdRequest) -> DeleteFileResponse:
        await self.objects.delete(request.file_id)
        self._path(request.file_id).unlink(missing_ok=True)
        return DeleteFileResponse(id=request.file_id, deleted=True)

    async def file_content(self, request: FileContentRequest) -> BinaryContent:
        obj = await self.objects.get(request.file_id)
        data = await asyncio.to_thread(self._path(request.file_id).read_bytes)
        return BinaryContent(
            data, str(obj.body.get("content_type") or "application/octet-stream"), obj.body["filename"]
        )


async def create_files(config: LocalFSConfig, context: ProviderContext) -> LocalFSFiles:
    """The provider, after sweeping what a crash left (``LocalFSFiles.sweep``)."""
    files = LocalFSFiles(config, context)
    await files.sweep()
    return files
