"""RAG documents made into chunks: their text read from wherever the content says, then split.

A document's ``content`` is text or content items (their text parts), or a URI, either as
``{"uri": ...}`` or as a string starting with ``http://``, ``https://``, ``data:`` or ``file://``
(as the 0.2 line reads strings): a ``data:`` URI (base64 or percent-encoded), an http(s) URL
(``UrlFetcher``), or a file id of the Files API. Bytes go through the documents kit (plain text,
Markdown, PDF). Every refusal is a 4xx naming the document.

Chunk ids are derived from the document id and the chunk's position, so inserting a document
again replaces its chunks; each chunk's metadata is the document's plus ``document_id`` and the
token counts that queries budget the context with.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import uuid
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from stack_core import BadRequestError, Chunk, FilesClient, NotFoundError, RagDocument, content_text
from stack_core.kits.documents import (
    ExtractionError,
    chunk_text,
    count_tokens,
    extract_text,
    markdown_to_text,
)

from .fetch import UrlFetcher

__all__ = ["DocumentReader", "chunk_id", "document_chunks"]

_URI_TEXT = re.compile(r"^(https?://|data:|file://)", re.IGNORECASE)
_IDS = uuid.UUID("3e0c6f0a-5b7d-4c21-9a8e-71d4f2b6c9e5")


def chunk_id(document_id: str, index: int) -> str:
    return str(uuid.uuid5(_IDS, f"{document_id}/{index}"))


def document_chunks(document: RagDocument, text: str, size: int, overlap: int) -> list[Chunk]:
    """The document's text in windows of ``size`` tokens sharing ``overlap``, with stable ids."""
    metadata = {**document.metadata, "document_id": document.document_id}
    metadata_tokens = count_tokens(str(metadata))
    return [
        Chunk(
            content=window,
            chunk_id=chunk_id(document.document_id, index),
            metadata={
                **metadata,
                "token_count": count_tokens(window),
                "metadata_token_count": metadata_tokens,
            },
        )
        for index, window in enumerate(chunk_text(text, size, overlap))
    ]


def decode_data_uri(uri: str) -> tuple[bytes, str]:
    """The bytes and media type of a ``data:`` URI; ``ValueError`` if it is malformed."""
    header, comma, payload = uri[len("data:") :].partition(",")
    if not comma:
        raise ValueError("a data: URI needs a comma before its data")
    params = [p.strip().lower() for p in header.split(";")]
    if "base64" in params[1:]:
        try:
            return base64.b64decode(unquote(payload), validate=True), params[0] or "text/plain"
        except binascii.Error as exc:
            raise ValueError(f"its base64 data is malformed ({exc})") from None
    return unquote_to_bytes(payload), params[0] or "text/plain"


class DocumentReader:
    """Reads a document's text; ``files`` is None when the stack serves no Files API."""

    def __init__(self, fetcher: UrlFetcher, files: FilesClient | None) -> None:
        self.fetcher, self.files = fetcher, files

    async def text(self, document: RagDocument) -> str:
        content = document.content
        if isinstance(content, str) and _URI_TEXT.match(content):
            content = {"uri": content}
        if isinstance(content, dict) and isinstance(content.get("uri"), str) and "type" not in content:
            data, media_type, filename = await self._load(content["uri"], document)
            try:
                parts = await asyncio.to_thread(
                    extract_text, data, filename, document.mime_type or media_type
                )
            except ExtractionError as exc:
                raise self._refused(document, exc.message, exc.code) from None
            text = "\n\n".join(parts)
        else:
            text = content_text(content)
            if "markdown" in (document.mime_type or ""):
                text = markdown_to_text(text)
        if not text.strip():
            raise self._refused(document, "it has no text (give text, a file, a data: URI or a URL)")
        return text

    def _refused(self, document: RagDocument, why: str, code: str | None = None) -> BadRequestError:
        return BadRequestError(f"Document '{document.document_id}': {why}", param="documents", code=code)

    async def _load(self, uri: str, document: RagDocument) -> tuple[bytes, str, str]:
        """The bytes, media type and a file name of the document a URI names."""
        scheme = urlsplit(uri).scheme.lower()
        if scheme == "data":
            try:
                data, media_type = decode_data_uri(uri)
            except ValueError as exc:
                raise self._refused(document, f"bad data: URI: {exc}") from None
            return data, media_type, document.document_id
        if scheme in ("http", "https"):
            fetched = await self.fetcher.fetch(uri)
            return fetched.data, fetched.media_type, fetched.filename
        if scheme:
            raise self._refused(
                document, f"'{scheme}:' URIs are refused; give a data: URI, an http(s) URL or a file id"
            )
        return await self._file(uri, document)

    async def _file(self, file_id: str, document: RagDocument) -> tuple[bytes, str, str]:
        if self.files is None:
            raise self._refused(
                document, f"it names file '{file_id}', and this stack has no Files API (providers.files)"
            )
        try:
            content = await self.files.content(file_id)
        except NotFoundError:
            raise NotFoundError(
                f"File '{file_id}' of document '{document.document_id}' not found. Upload it first "
                "(POST /v1/files).",
                param="documents",
                code="file_not_found",
            ) from None
        return content.data, content.media_type, content.filename or file_id
