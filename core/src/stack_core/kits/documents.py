"""Documents made into text chunks: extraction (plain text, Markdown, PDF) and token windows.

``extract_text`` returns a document's text as parts (one per PDF page, one otherwise) or raises
``ExtractionError`` with an OpenAI ``last_error`` code: ``unsupported_file`` for a type it cannot
read (images, archives, other binaries, PDF without ``pypdf`` installed), ``invalid_file`` for a
damaged file or one with no text. PDF support needs ``pypdf``, imported only when a PDF arrives:
a plugin that extracts documents declares it.

``DocumentReader`` reads a document's text from wherever its content says (RAG documents, agents'
turn documents): text or content items (their text parts), or a URI, either as ``{"uri": ...}`` or
as a string starting with ``http://``, ``https://``, ``data:`` or ``file://`` (as the 0.2 line
reads strings): a ``data:`` URI (base64 or percent-encoded), an http(s) URL (the fetch kit's
bounded ``UrlFetcher``), or a file id of the Files API; bytes go through ``extract_text``. Every
refusal is a 4xx naming the document.

``chunk_text`` splits text into overlapping windows of approximate tokens (no tokenizer download):
a token is a run of word characters or one punctuation mark, which tracks subword tokenizers'
counts closely enough for sizing chunks. Chunks are slices of the original text, so whitespace and
line breaks inside them are kept.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import re
from pathlib import PurePath
from typing import Any, Literal, Protocol
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from ..clients.files import FilesClient
from ..errors import BadRequestError, NotFoundError
from ..payloads import content_text
from .fetch import UrlFetcher

__all__ = [
    "Document",
    "DocumentReader",
    "ExtractionError",
    "chunk_text",
    "count_tokens",
    "decode_data_uri",
    "extract_text",
    "markdown_to_text",
]

_URI_TEXT = re.compile(r"^(https?://|data:|file://)", re.IGNORECASE)


class Document(Protocol):
    """What ``DocumentReader`` reads: a name for messages, the content, an optional media type."""

    @property
    def document_id(self) -> str: ...

    @property
    def content(self) -> Any: ...

    @property
    def mime_type(self) -> str | None: ...


_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    return sum(1 for _ in _TOKEN.finditer(text))


def chunk_text(text: str, max_tokens: int, overlap: int) -> list[str]:
    """Windows of at most ``max_tokens`` tokens, each sharing ``overlap`` tokens with the previous."""
    if not 0 <= overlap < max_tokens:
        raise ValueError("overlap must be at least 0 and less than max_tokens")
    spans = [m.span() for m in _TOKEN.finditer(text)]
    chunks: list[str] = []
    for start in range(0, len(spans), max_tokens - overlap):
        window = spans[start : start + max_tokens]
        chunks.append(text[window[0][0] : window[-1][1]])
        if start + max_tokens >= len(spans):
            break
    return chunks


SUPPORTED = "plain text, Markdown and PDF"
_MAGIC = {
    b"\x89PNG": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF8": "GIF image",
    b"RIFF": "RIFF media file",
    b"PK\x03\x04": "ZIP archive (docx, xlsx, ...)",
    b"\x1f\x8b": "gzip archive",
    b"\xd0\xcf\x11\xe0": "legacy Office document",
    b"\x7fELF": "executable",
}
_MARKDOWN = {".md", ".markdown", ".mdown", ".mkd"}


class ExtractionError(Exception):
    def __init__(self, code: Literal["unsupported_file", "invalid_file"], message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def extract_text(data: bytes, filename: str, media_type: str = "") -> list[str]:
    """The text of a file, as parts; see the module docstring for the errors."""
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(b"%PDF-") or suffix == ".pdf" or media_type == "application/pdf":
        parts = _pdf(data, filename)
    else:
        for magic, what in _MAGIC.items():
            if data.startswith(magic):
                raise ExtractionError(
                    "unsupported_file", f"'{filename}' is a {what}; supported types: {SUPPORTED}."
                )
        text = _decode(data, filename)
        parts = [markdown_to_text(text) if suffix in _MARKDOWN or "markdown" in media_type else text]
    if not any(p.strip() for p in parts):
        raise ExtractionError("invalid_file", f"No text could be extracted from '{filename}'.")
    return parts


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    controls = sum(1 for b in data if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in data or controls > len(data) // 100:
        raise ExtractionError(
            "unsupported_file", f"'{filename}' is a binary file; supported types: {SUPPORTED}."
        )
    return data.decode("latin-1")


def _pdf(data: bytes, filename: str) -> list[str]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:
        raise ExtractionError(
            "unsupported_file", f"'{filename}' is a PDF, and reading PDFs needs pypdf installed."
        ) from None
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("invalid_file", f"'{filename}' is an encrypted PDF.")
        return [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError("invalid_file", f"'{filename}' is not a readable PDF: {exc}") from None


_FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def markdown_to_text(text: str) -> str:
    """Markdown without its markup (fences, links' targets, heading marks, emphasis, HTML tags)."""
    for pattern, replacement in (
        (_FENCE, ""),
        (_IMAGE, r"\1"),
        (_LINK, r"\1"),
        (_HEADING, ""),
        (_EMPHASIS, ""),
        (_TAG, ""),
    ):
        text = pattern.sub(replacement, text)
    return text


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

    async def text(self, document: Document) -> str:
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

    def _refused(self, document: Document, why: str, code: str | None = None) -> BadRequestError:
        return BadRequestError(f"Document '{document.document_id}': {why}", param="documents", code=code)

    async def _load(self, uri: str, document: Document) -> tuple[bytes, str, str]:
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

    async def _file(self, file_id: str, document: Document) -> tuple[bytes, str, str]:
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
