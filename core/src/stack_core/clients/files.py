"""``FilesClient``: reading stored files through the Files API, in-process, typed."""

from __future__ import annotations

from ..apis.files import FileContentRequest, FileIdRequest, FileObject
from ..calls import ApiHandle
from ..errors import ProviderReplyError
from ..payloads import BinaryContent
from .decode import decode_model

__all__ = ["FilesClient"]


class FilesClient:
    """What a provider reads of the Files API: a file's metadata and its content, as the current
    user (a file they may not read is a ``NotFoundError``)."""

    def __init__(self, api: ApiHandle) -> None:
        self._retrieve = api.handler("retrieve_file")
        self._content = api.handler("file_content")

    async def retrieve(self, file_id: str) -> FileObject:
        return decode_model(await self._retrieve(FileIdRequest(file_id=file_id)), FileObject)

    async def content(self, file_id: str) -> BinaryContent:
        reply = await self._content(FileContentRequest(file_id=file_id))
        if not isinstance(reply, BinaryContent):
            raise ProviderReplyError(f"The Files API returned {type(reply).__name__} as a file's content.")
        return reply
