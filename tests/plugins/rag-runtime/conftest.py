"""Fixtures of the RAG runtime's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from documents import DocumentServer, serve_documents


@pytest.fixture(scope="module")
def documents_server() -> Iterator[DocumentServer]:
    with serve_documents() as server:
        yield server
