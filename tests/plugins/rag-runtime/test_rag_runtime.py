"""inline::rag-runtime served by `stack run` (faiss vectors, real MiniLM embeddings, localfs files):
the llama-stack-client RAG flow, documents by file id, data: URI and URL, the query modes, the
knowledge_search tool, errors, and the tool runtime conformance suite on builtin::rag."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import llama_stack_client
import pytest
from backends import fake_backend, stack_server
from documents import DocumentServer, Page, minimal_pdf
from llama_stack_client import LlamaStackClient

from stack_core.testing import StackServer, Target, ToolRuntimeConformance

pytestmark = pytest.mark.integration

KB = "kb"
MODEL = "all-MiniLM-L6-v2"
GROUP_ARGS = {"vector_db_ids": [KB], "query_config": {"max_chunks": 2}}
TOPICS = {
    "volcanoes": "Volcanoes erupt when magma rises from the mantle through the crust. Basaltic lava "
    "flows far from the vent, while sticky rhyolitic magma builds explosive stratovolcanoes.",
    "sourdough": "A sourdough starter is fed with equal weights of flour and water every day. Its wild "
    "yeast and lactobacilli leaven the bread and give the crumb a sour flavour.",
    "chess": "The Sicilian Defence answers 1.e4 with c5. White usually plays the Open Sicilian with Nf3 "
    "and d4, and black chooses between the Najdorf and Dragon variations.",
}
QUESTIONS = {
    "volcanoes": "Why do some volcanoes explode?",
    "sourdough": "How often should I feed my sourdough starter?",
    "chess": "What does black play against 1.e4 in the Sicilian?",
}


def config(backend: str) -> dict[str, Any]:
    def entry(provider_id: str, provider_type: str, **config: object) -> dict[str, Any]:
        return {"provider_id": provider_id, "provider_type": provider_type, "config": config}

    fetch = {"allow_private_addresses": True, "max_bytes": 4096}
    return {
        "version": 2,
        "providers": {
            "inference": [
                entry("st", "inline::sentence-transformers"),
                entry("vllm", "remote::vllm", url=f"{backend}/v1"),
            ],
            "vector_io": [entry("faiss", "inline::faiss")],
            "files": [entry("files", "inline::localfs")],
            "tool_runtime": [entry("rag", "inline::rag-runtime", url_fetch=fetch)],
        },
        "models": [{"model_id": "llm", "provider_id": "vllm", "model_type": "llm"}],
        "registered_resources": {
            "vector_dbs": [{"vector_db_id": KB, "embedding_model": MODEL, "embedding_dimension": 384}],
            "tool_groups": [  # builtin::rag, searching KB two chunks at a time
                {"toolgroup_id": "builtin::rag", "provider_id": "rag", "args": GROUP_ARGS},
            ],
        },
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with (
        fake_backend(models="llm") as backend,
        stack_server(config(backend), tmp_path_factory.mktemp("home")) as server,
    ):
        yield server


@pytest.fixture(scope="module")
def llama(server: StackServer) -> Iterator[LlamaStackClient]:
    with LlamaStackClient(base_url=server.url, timeout=120) as client:
        yield client


def register(llama: LlamaStackClient, vector_db_id: str) -> str:
    llama.vector_dbs.register(vector_db_id=vector_db_id, embedding_model=MODEL, embedding_dimension=384)
    return vector_db_id


@pytest.fixture(scope="module")
def kb(llama: LlamaStackClient) -> str:
    """The run config's vector DB, holding the three topics given as a string, content items and a
    text item."""
    documents: list[Any] = [
        {"document_id": "volcanoes", "content": TOPICS["volcanoes"], "metadata": {"topic": "geology"}},
        {
            "document_id": "sourdough",
            "content": [{"type": "text", "text": TOPICS["sourdough"]}, {"type": "text", "text": "Bake hot."}],
            "metadata": {},
        },
        {"document_id": "chess", "content": {"type": "text", "text": TOPICS["chess"]}, "metadata": {}},
    ]
    llama.tool_runtime.rag_tool.insert(documents=documents, vector_db_id=KB, chunk_size_in_tokens=128)
    return KB


def query(llama: LlamaStackClient, vector_db_id: str, text: str, **config: Any) -> dict[str, Any]:
    query_config = {
        "max_chunks": 3,
        "max_tokens_in_context": 4096,
        "chunk_template": "Result {index}\nContent: {chunk.content}\nMetadata: {metadata}\n",
        "query_generator_config": {"type": "default", "separator": " "},
        **config,
    }
    result = llama.tool_runtime.rag_tool.query(
        content=text, vector_db_ids=[vector_db_id], query_config=query_config
    )
    return result.to_dict()


@pytest.mark.parametrize("topic", list(TOPICS))
def test_the_right_document_comes_first(llama: LlamaStackClient, kb: str, topic: str) -> None:
    result = query(llama, kb, QUESTIONS[topic])
    assert result["metadata"]["document_ids"][0] == topic
    texts = [item["text"] for item in result["content"]]
    found = len(result["metadata"]["chunks"])
    assert (
        texts[0] == f"knowledge_search tool found {found} chunks:\nBEGIN of knowledge_search tool results.\n"
    )
    assert texts[1].startswith("Result 1\nContent: ") and f"'document_id': '{topic}'" in texts[1]
    assert texts[-2] == "END of knowledge_search tool results.\n" and "cite" in texts[-1]
    assert len(result["metadata"]["scores"]) == found == len(texts) - 3


@pytest.mark.parametrize(
    "mode",
    [
        {"mode": "keyword"},
        {"mode": "hybrid"},
        {"mode": "hybrid", "ranker": {"type": "weighted", "alpha": 0.3}},
    ],
)
def test_keyword_and_hybrid_modes(llama: LlamaStackClient, kb: str, mode: dict[str, Any]) -> None:
    assert query(llama, kb, "Najdorf Dragon Sicilian", **mode)["metadata"]["document_ids"][0] == "chess"


def test_the_llm_query_generator_asks_the_model(llama: LlamaStackClient, kb: str) -> None:
    """The fake model echoes the prompt: the template's words decide what is found."""
    template = "{{ messages }} Lava, magma and eruptions."
    generator = {"type": "llm", "model": "llm", "template": template}
    result = query(llama, kb, "Which document?", query_generator_config=generator)
    assert result["metadata"]["document_ids"][0] == "volcanoes"
    assert '"Which document?"' in result["content"][-1]["text"]
    with pytest.raises(llama_stack_client.BadRequestError, match="messages"):
        query(llama, kb, "Which document?", query_generator_config={**generator, "template": "no slot"})


def test_knowledge_search_returns_framed_chunks_citing_the_document(llama: LlamaStackClient, kb: str) -> None:
    result = llama.tool_runtime.invoke_tool(
        tool_name="knowledge_search", kwargs={"query": QUESTIONS["volcanoes"], "vector_db_ids": [kb]}
    )
    assert result.error_message is None and isinstance(result.content, list)
    texts = [getattr(item, "text", "") for item in result.content]
    assert "BEGIN of knowledge_search tool results" in texts[0] and "magma" in texts[1]
    assert "'document_id': 'volcanoes'" in texts[1] and "'topic': 'geology'" in texts[1]
    assert result.metadata is not None and result.metadata["document_ids"][0] == "volcanoes"
    tool = llama.tools.get("knowledge_search")
    assert tool.toolgroup_id == "builtin::rag" and [p.name for p in tool.parameters] == ["query"]


def test_knowledge_search_reads_its_groups_args(
    llama: LlamaStackClient, server: StackServer, kb: str
) -> None:
    result = llama.tool_runtime.invoke_tool(tool_name="knowledge_search", kwargs={"query": "sourdough"})
    assert result.error_message is None and result.metadata is not None
    assert result.metadata["document_ids"] == ["sourdough", *result.metadata["document_ids"][1:]]
    assert len(result.metadata["document_ids"]) == 2  # the group's query_config
    body = {"toolgroup_id": "more-rag", "provider_id": "rag", "args": {"vector_dbs": [kb]}}
    refused = httpx.post(f"{server.url}/v1/toolgroups", json=body, timeout=60)
    assert refused.status_code == 400 and "vector_dbs" in refused.json()["error"]["message"]
    body["args"] = {"vector_db_ids": [kb]}
    assert httpx.post(f"{server.url}/v1/toolgroups", json=body, timeout=60).status_code == 200


def test_documents_by_file_data_uri_and_url(
    llama: LlamaStackClient, server: StackServer, documents_server: DocumentServer
) -> None:
    db = register(llama, "sources")
    notes = b"# Beekeeping\n\nA **queen bee** lays up to two thousand eggs a day in spring."
    file_id = llama.files.create(file=("bees.md", notes, "text/markdown"), purpose="assistants").id
    pdf = minimal_pdf("Glaciers carve U-shaped valleys as they slowly flow downhill.")
    documents_server.pages["/tides.html"] = Page(b"Tides rise and fall twice a day, pulled by the moon.")
    documents: list[Any] = [
        {"document_id": "bees", "content": {"uri": file_id}, "metadata": {}},
        {
            "document_id": "glaciers",
            "content": "data:application/pdf;base64," + base64.b64encode(pdf).decode(),
            "metadata": {},
        },
        {"document_id": "tides", "content": {"uri": f"{documents_server.url}/tides.html"}, "metadata": {}},
    ]
    llama.tool_runtime.rag_tool.insert(documents=documents, vector_db_id=db, chunk_size_in_tokens=64)
    for document_id, question in (
        ("bees", "How many eggs does a queen bee lay?"),
        ("glaciers", "How are U-shaped valleys formed?"),
        ("tides", "What causes the tides?"),
    ):
        result = query(llama, db, question)
        assert result["metadata"]["document_ids"][0] == document_id
    assert "queen bee lays" in query(llama, db, "queen bee eggs")["metadata"]["chunks"][0]  # markup stripped


def test_inserting_a_document_again_replaces_its_chunks(llama: LlamaStackClient, server: StackServer) -> None:
    db = register(llama, "replace")
    long_text = " ".join(f"Line {i} about the old harbour and its fishing boats." for i in range(30))
    insert = llama.tool_runtime.rag_tool.insert
    insert(
        documents=[{"document_id": "log", "content": long_text, "metadata": {}}],
        vector_db_id=db,
        chunk_size_in_tokens=32,
    )
    insert(
        documents=[{"document_id": "log", "content": "The harbour was rebuilt.", "metadata": {}}],
        vector_db_id=db,
        chunk_size_in_tokens=32,
    )
    body = {
        "vector_db_id": db,
        "query": "harbour",
        "params": {"max_chunks": 100, "filters": {"document_id": "log"}},
    }
    chunks = httpx.post(f"{server.url}/v1/vector-io/query", json=body, timeout=60).json()["chunks"]
    assert [c["content"] for c in chunks] == ["The harbour was rebuilt."]


def test_errors(server: StackServer, kb: str, documents_server: DocumentServer) -> None:
    documents_server.pages["/huge.txt"] = Page(b"x " * 5000)

    def post(route: str, body: dict[str, Any]) -> tuple[int, str]:
        reply = httpx.post(f"{server.url}/v1/tool-runtime/rag-tool/{route}", json=body, timeout=60)
        return reply.status_code, reply.json()["error"]["message"] if reply.status_code >= 400 else ""

    def insert(content: Any) -> tuple[int, str]:
        return post("insert", {"vector_db_id": kb, "documents": [{"document_id": "d", "content": content}]})

    status, message = post("query", {"content": "lava", "vector_db_ids": [kb, "no-such-db"]})
    assert status == 404 and "no-such-db" in message
    status, message = insert({"uri": f"{documents_server.url}/huge.txt"})
    assert status == 400 and "larger than the limit of 4096 bytes" in message
    status, message = insert({"uri": "ftp://example.com/a.txt"})
    assert status == 400 and "'ftp:' URIs are refused" in message
    status, message = insert({"uri": "file-does-not-exist"})
    assert status == 404 and "file-does-not-exist" in message
    status, message = insert("data:text/plain;base64,%%%")
    assert status == 400 and "bad data: URI" in message
    template = {"chunk_template": "{chunk.content} {chunk.__class__}"}
    status, message = post("query", {"content": "lava", "vector_db_ids": [kb], "query_config": template})
    assert status == 400 and "unknown placeholder {chunk.__class__}" in message


class TestRagToolConformance(ToolRuntimeConformance):
    @pytest.fixture
    def target(self, server: StackServer, kb: str) -> Target:
        call = {"tool_name": "knowledge_search", "kwargs": {"query": "lava", "vector_db_ids": [kb]}}
        failing = {
            "tool_name": "knowledge_search",
            "kwargs": {"query": "lava", "vector_db_ids": ["no-such-db"]},
        }
        return Target(
            url=server.url,
            extra={
                "toolgroup_id": "builtin::rag",
                "call": {**call, "expect": "BEGIN of knowledge_search tool results"},
                "failing_call": failing,
            },
        )
