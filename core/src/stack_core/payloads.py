"""Payloads beyond JSON, shared by providers and the server: SSE, binary content, uploads."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from .errors import StackError
from .framing import OPENAI_CHUNKS
from .redact import redact_urls

__all__ = ["BinaryContent", "FileUpload", "SSEStream", "content_text", "sse_error"]


class SSEStream:
    """An already-framed SSE byte stream, relayed to the client verbatim.

    It carries its own terminator (``data: [DONE]``) and its own error events. A provider proxying
    an SSE backend returns one so each event is neither re-parsed nor re-framed.
    """

    __slots__ = ("chunks",)

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self.chunks = chunks


def sse_error(error: StackError) -> bytes:
    """One SSE event carrying ``error`` in the OpenAI shape (SDKs raise on it)."""
    return redact_urls(OPENAI_CHUNKS.error(error.to_body()).decode()).encode()


@dataclass(frozen=True)
class BinaryContent:
    """Raw bytes sent as they are (a file's content), not as JSON."""

    data: bytes
    media_type: str = "application/octet-stream"
    filename: str | None = None


@dataclass(frozen=True)
class FileUpload:
    """One uploaded multipart file part. The server spools it to a temporary file (on disk past
    1 MiB), open while the handler runs: copy ``file`` rather than ``read()`` a large one."""

    filename: str
    content_type: str
    file: BinaryIO
    size: int

    @classmethod
    def of(cls, filename: str, content_type: str, data: bytes) -> FileUpload:
        """An upload of ``data`` held in memory (for tests and in-process callers)."""
        return cls(filename, content_type, io.BytesIO(data), len(data))

    def read(self) -> bytes:
        """The whole content, in memory."""
        self.file.seek(0)
        return self.file.read()


def content_text(content: Any) -> str:
    """The text of message or chunk content: a string, a text part, or a list of parts (OpenAI's
    ``{"type": "text", "text": ...}`` or the 0.2 line's interleaved content); images are skipped."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        text = content.get("text")
        return text if isinstance(text, str) and content.get("type", "text") == "text" else ""
    if isinstance(content, list):
        return "\n".join(t for t in (content_text(part) for part in content) if t)
    return ""
