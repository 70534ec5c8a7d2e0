"""The RAG runtime's parts in-process: URL fetching rules against a local server, data: URIs,
chunk ids, chunk templates and the framing of results within their budgets."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from documents import DocumentServer, Page
from stack_provider_rag_runtime.documents import document_chunks
from stack_provider_rag_runtime.retrieval import Hit, check_template, frame

from stack_core import BadRequestError, Chunk, RagDocument, RagQueryConfig
from stack_core.kits.documents import decode_data_uri
from stack_core.kits.fetch import UrlFetchConfig, UrlFetcher, public


def fetcher(**config: Any) -> UrlFetcher:
    return UrlFetcher(UrlFetchConfig.model_validate({"allow_private_addresses": True, **config}))


async def refused(fetcher: UrlFetcher, url: str) -> str:
    with pytest.raises(BadRequestError) as caught:
        await fetcher.fetch(url)
    assert caught.value.status_code == 400 and url in caught.value.message
    return caught.value.message


@pytest.mark.parametrize(
    ("address", "expected"),
    [("8.8.8.8", True), ("127.0.0.1", False), ("10.1.2.3", False), ("169.254.169.254", False),
     ("100.64.0.1", False), ("224.0.0.1", False), ("::1", False), ("::ffff:10.0.0.1", False),
     ("2606:4700::1111", True)],
)  # fmt: skip
def test_only_public_unicast_addresses_are_public(address: str, expected: bool) -> None:
    assert public(ipaddress.ip_address(address)) is expected


async def test_private_addresses_are_refused_by_default(documents_server: DocumentServer) -> None:
    documents_server.pages["/a.txt"] = Page(b"hello")
    strict = UrlFetcher(UrlFetchConfig())
    assert "private or reserved address (127.0.0.1)" in await refused(strict, f"{documents_server.url}/a.txt")
    port = documents_server.url.rsplit(":", 1)[1]
    assert "private or reserved" in await refused(strict, f"http://localhost:{port}/a.txt")
    assert "private or reserved" in await refused(strict, "http://[::1]/a.txt")
    assert "only http and https" in await refused(strict, "ftp://example.com/a.txt")
    fetched = await fetcher().fetch(f"{documents_server.url}/a.txt")
    assert (fetched.data, fetched.media_type, fetched.filename) == (b"hello", "text/plain", "a.txt")


async def test_redirects_are_followed_and_checked_hop_by_hop(documents_server: DocumentServer) -> None:
    url = documents_server.url
    port = url.rsplit(":", 1)[1]
    documents_server.pages["/b.md"] = Page(b"# B", "text/markdown; charset=utf-8")
    documents_server.pages["/to-b"] = Page(status=302, headers={"Location": "/b.md"})
    documents_server.pages["/to-localhost"] = Page(
        status=302, headers={"Location": f"http://localhost:{port}/b.md"}
    )
    documents_server.pages["/loop"] = Page(status=302, headers={"Location": "/loop"})
    fetched = await fetcher().fetch(f"{url}/to-b")
    assert (fetched.data, fetched.media_type, fetched.filename) == (b"# B", "text/markdown", "b.md")
    pinned = fetcher(allowed_hosts=["127.0.0.1"])
    assert "localhost is not in the allowed hosts" in await refused(pinned, f"{url}/to-localhost")
    assert "redirects more than 2 times" in await refused(fetcher(max_redirects=2), f"{url}/loop")


async def test_size_time_and_status_limits(documents_server: DocumentServer) -> None:
    url = documents_server.url
    documents_server.pages["/big"] = Page(b"x" * 5000)
    documents_server.pages["/big-stream"] = Page(b"x" * 5000, declare_length=False)
    documents_server.pages["/slow"] = Page(b"late", delay=1.0)
    small = fetcher(max_bytes=1000, timeout_seconds=0.3)
    assert "5000 bytes, larger than the limit of 1000" in await refused(small, f"{url}/big")
    assert "larger than the limit of 1000" in await refused(small, f"{url}/big-stream")
    assert "longer than 0.3 seconds" in await refused(small, f"{url}/slow")
    assert "HTTP 404" in await refused(small, f"{url}/missing")


def test_data_uris_decode_base64_and_percent_encoding() -> None:
    assert decode_data_uri("data:text/markdown;base64,IyBIaQ==") == (b"# Hi", "text/markdown")
    assert decode_data_uri("data:,a%20b") == (b"a b", "text/plain")
    for bad in ("data:text/plain;base64", "data:;base64,@@@"):
        with pytest.raises(ValueError):
            decode_data_uri(bad)


def test_chunks_have_stable_ids_the_document_metadata_and_token_counts() -> None:
    document = RagDocument(document_id="d1", content="", metadata={"team": "a"})
    text = " ".join(f"word{i}" for i in range(100))
    chunks = document_chunks(document, text, 40, 10)
    assert len(chunks) == 3 and [c.chunk_id for c in document_chunks(document, text, 40, 10)] == [
        c.chunk_id for c in chunks
    ]
    assert chunks[0].metadata == {
        "team": "a",
        "document_id": "d1",
        "token_count": 40,
        "metadata_token_count": 17,
    }
    assert str(chunks[1].content).startswith("word30")


@pytest.mark.parametrize("template", ["{chunk.__class__}", "{other}", "{}", "{index:{x}}", "{chunk.content"])
def test_templates_name_only_known_placeholders(template: str) -> None:
    with pytest.raises(BadRequestError, match="chunk_template"):
        check_template(template)


def hit(text: str, document_id: str, score: float, tokens: int = 10) -> Hit:
    metadata = {"document_id": document_id, "token_count": tokens, "metadata_token_count": 2}
    return Hit(Chunk(content=text, metadata=metadata, chunk_id=f"c-{document_id}"), score)


def test_frame_orders_cuts_and_cites() -> None:
    hits = [hit("low", "a", 0.1), hit("high", "b", 0.9), hit("mid", "c", 0.5)]
    config = RagQueryConfig(
        max_chunks=3, max_tokens_in_context=30, chunk_template="{index}: {chunk.content} {metadata}"
    )
    result = frame(hits, config, "which?")
    texts = [item["text"] for item in result.content]  # type: ignore[union-attr, index]
    assert texts[0] == "knowledge_search tool found 2 chunks:\nBEGIN of knowledge_search tool results.\n"
    assert texts[1:3] == ["1: high {'document_id': 'b'}", "2: mid {'document_id': 'c'}"]
    assert texts[3] == "END of knowledge_search tool results.\n" and '"which?"' in texts[4]
    assert "document_id" in texts[4]
    assert result.metadata == {"document_ids": ["b", "c"], "chunks": ["high", "mid"], "scores": [0.9, 0.5]}
    assert frame([], config, "which?").content is None
