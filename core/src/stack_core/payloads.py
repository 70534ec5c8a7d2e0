"""Payloads beyond JSON, shared by providers and the server: SSE, binary content, uploads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson

from .errors import StackError

__all__ = ["BinaryContent", "FileUpload", "SSEStream", "sse_error"]


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
    return b"data: " + orjson.dumps(error.to_body()) + b"\n\n"


@dataclass(frozen=True)
class BinaryContent:
    """Raw bytes sent as they are (a file's content), not as JSON."""

    data: bytes
    media_type: str = "application/octet-stream"
    filename: str | None = None


@dataclass(frozen=True)
class FileUpload:
    """One uploaded multipart file part, read into memory."""

    filename: str
    content_type: str
    data: bytes
