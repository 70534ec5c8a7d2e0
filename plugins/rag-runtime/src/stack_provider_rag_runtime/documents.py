"""RAG documents made into chunks: their text read by the documents kit's ``DocumentReader`` (text,
content items, a ``data:`` URI, an http(s) URL or a file id of the Files API; plain text,
Markdown, PDF), then split.

Chunk ids are derived from the document id and the chunk's position, so inserting a document
again replaces its chunks; each chunk's metadata is the document's plus ``document_id`` and the
token counts that queries budget the context with.
"""

from __future__ import annotations

import uuid

from stack_core import Chunk, RagDocument
from stack_core.kits.documents import chunk_text, count_tokens

__all__ = ["chunk_id", "document_chunks"]

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
