"""inline::vector-stores served by `stack run` (localfs files, faiss vectors, real MiniLM embeddings):
the openai SDK flow, file batches, RAG end to end, bad input, ownership, the llama-stack-client paths."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from auth_endpoint import spawn_auth_endpoint
from backends import stack_server
from documents import minimal_pdf
from llama_stack_client import LlamaStackClient

from stack_core.testing import StackServer

POLL = {"poll_interval_ms": 50}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def stores_config(**server: object) -> dict[str, Any]:
    def entry(api: str, provider_type: str, **config: object) -> list[dict[str, Any]]:
        return [{"provider_id": api, "provider_type": provider_type, "config": config}]

    return {
        "version": 2,
        "providers": {
            "inference": entry("inference", "inline::sentence-transformers"),
            "vector_io": entry("vector_io", "inline::faiss") + entry("vector_io_2", "inline::faiss"),
            "files": entry("files", "inline::localfs"),
            "vector_stores": entry(
                "vector_stores", "inline::vector-stores", chunk_size_tokens=100, chunk_overlap_tokens=20
            ),
        },
        "server": server,
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with stack_server(stores_config(), tmp_path_factory.mktemp("home")) as server:
        yield server


@pytest.fixture
def client(server: StackServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", timeout=120) as client:
        yield client


def upload(client: openai.OpenAI, name: str, data: bytes, media_type: str = "text/plain") -> str:
    return client.files.create(file=(name, io.BytesIO(data), media_type), purpose="assistants").id


def chunks_of(server: StackServer, store_id: str, file_id: str) -> list[dict[str, Any]]:
    """The file's chunks as vector_io holds them (a filtered query over the store's vector DB)."""
    params = {"max_chunks": 100, "filters": {"type": "eq", "key": "file_id", "value": file_id}}
    body = {"vector_db_id": store_id, "query": "anything", "params": params}
    reply = httpx.post(f"{server.url}/v1/vector-io/query", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    chunks: list[dict[str, Any]] = reply.json()["chunks"]
    return chunks


def test_openai_sdk_flow(client: openai.OpenAI, server: StackServer) -> None:
    text = b"The lighthouse keeper logs every passing ship in a leather-bound journal."
    file_id = upload(client, "lighthouse.txt", text)
    store = client.vector_stores.create(name="notes", file_ids=[file_id], metadata={"team": "a"})
    assert store.id.startswith("vs_") and store.object == "vector_store" and store.file_counts.total == 1
    done = client.vector_stores.files.poll(file_id, vector_store_id=store.id, **POLL)
    assert done.status == "completed" and done.last_error is None and done.usage_bytes == len(text)
    assert done.chunking_strategy is not None and done.chunking_strategy.type == "static"
    retrieved = client.vector_stores.retrieve(store.id)
    assert retrieved.status == "completed" and retrieved.file_counts.completed == 1
    hits = client.vector_stores.search(store.id, query="Who records the ships?").data
    assert hits[0].file_id == file_id and hits[0].filename == "lighthouse.txt"
    assert "leather-bound journal" in hits[0].content[0].text and 0 < hits[0].score <= 1
    content = client.vector_stores.files.content(file_id, vector_store_id=store.id)
    assert [part.text for part in content] == [text.decode()]
    updated = client.vector_stores.update(store.id, name="renamed", metadata={"team": "b"})
    assert (updated.name, updated.metadata) == ("renamed", {"team": "b"})
    assert store.id in [s.id for s in client.vector_stores.list()]
    assert [f.id for f in client.vector_stores.files.list(vector_store_id=store.id)] == [file_id]
    assert client.vector_stores.files.delete(file_id, vector_store_id=store.id).deleted
    assert chunks_of(server, store.id, file_id) == []
    assert client.vector_stores.delete(store.id).deleted
    assert httpx.get(f"{server.url}/v1/vector-dbs/{store.id}").status_code == 404
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)


def test_stores_use_the_first_or_the_requested_vector_io_provider(
    client: openai.OpenAI, server: StackServer
) -> None:
    default = client.vector_stores.create(name="default").to_dict()
    chosen = client.vector_stores.create(name="chosen", extra_body={"provider_id": "vector_io_2"}).to_dict()
    assert (default["provider_id"], chosen["provider_id"]) == ("vector_io", "vector_io_2")
    assert httpx.get(f"{server.url}/v1/vector-dbs/{chosen['id']}").json()["provider_id"] == "vector_io_2"
    file_id = upload(client, "kiln.txt", b"The potter fires the clay vase in a kiln.")
    attached = client.vector_stores.files.create_and_poll(file_id, vector_store_id=chosen["id"], **POLL)
    assert attached.status == "completed" and len(chunks_of(server, chosen["id"], file_id)) == 1
    assert client.vector_stores.search(chosen["id"], query="pottery").data[0].file_id == file_id
    with pytest.raises(openai.BadRequestError, match="Provider 'nope' does not serve vector_io"):
        client.vector_stores.create(name="x", extra_body={"provider_id": "nope"})


def test_attributes_filters_and_static_chunking(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="filtered")
    static = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}}
    long_text = " ".join(f"Orchard row {i} grows apples and pears." for i in range(60)).encode()
    apples = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("orchard.txt", io.BytesIO(long_text)),
        attributes={"kind": "farm", "year": 2023},
        chunking_strategy=static,  # type: ignore[arg-type]
        **POLL,
    )
    assert apples.status == "completed" and apples.attributes == {"kind": "farm", "year": 2023}
    other = upload(client, "city.txt", b"Apples are sold at the city market on Saturdays.")
    attached = client.vector_stores.files.create_and_poll(
        other, vector_store_id=store.id, attributes={"kind": "city", "year": 2025}, **POLL
    )
    assert attached.status == "completed"
    farm_only = client.vector_stores.search(
        store.id, query="apples", filters={"type": "eq", "key": "kind", "value": "farm"}, max_num_results=50
    ).data
    assert len(farm_only) > 3 and {h.file_id for h in farm_only} == {apples.id}
    recent = client.vector_stores.search(
        store.id,
        query=["apples", "market"],
        filters={"type": "and", "filters": [{"type": "gte", "key": "year", "value": 2024}]},
    ).data
    assert {h.file_id for h in recent} == {other} and recent[0].attributes == {"kind": "city", "year": 2025}
    none = client.vector_stores.search(store.id, query="apples", ranking_options={"score_threshold": 0.99})
    assert none.data == []
    relabelled = client.vector_stores.files.update(
        other, vector_store_id=store.id, attributes={"kind": "farm"}
    )
    assert relabelled.attributes == {"kind": "farm"}
    client.vector_stores.files.poll(other, vector_store_id=store.id, **POLL)
    farm = client.vector_stores.search(
        store.id, query="market", filters={"type": "eq", "key": "kind", "value": "farm"}, max_num_results=50
    ).data
    assert other in {h.file_id for h in farm}


def test_file_batches(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="batched")
    ids = [
        upload(client, f"b{i}.txt", f"Batch document number {i} about topic {i}.".encode()) for i in range(3)
    ]
    batch = client.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=ids, **POLL)
    assert batch.object == "vector_store.files_batch" and batch.status == "completed"
    assert (batch.file_counts.completed, batch.file_counts.total) == (3, 3)
    assert client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id).id == batch.id
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id, order="asc")
    assert sorted(f.id for f in listed) == sorted(ids)
    page = client.vector_stores.files.list(vector_store_id=store.id, limit=2, order="asc")
    assert len(page.data) == 2 and page.has_more
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 3
    stopped = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert stopped.status == "cancelled" and stopped.file_counts.completed == 3


def test_rag_end_to_end_ranks_the_right_document_first(client: openai.OpenAI) -> None:
    documents = {
        "photosynthesis.txt": (
            b"Photosynthesis is how green plants turn sunlight, water and carbon dioxide into sugar and "
            b"oxygen. Chlorophyll in the leaves absorbs the light energy.",
            "text/plain",
        ),
        "volcanoes.md": (
            b"# Volcanoes\n\nA **volcano** erupts when molten *magma* rises through cracks in the crust.\n\n"
            b"- Pressure from gases builds up\n- See [eruptions](https://example.org/eruptions)\n",
            "text/markdown",
        ),
        "taxes.pdf": (
            minimal_pdf(
                "Individual income tax returns must be filed with the revenue agency",
                "by the thirtieth of April. Late filing incurs a penalty.",
            ),
            "application/pdf",
        ),
        "pasta.txt": (b"Boil salted water and simmer the spaghetti for nine minutes.", "text/plain"),
        "football.txt": (b"The football match ended in a draw after extra time and penalties.", "text/plain"),
    }
    ids = {name: upload(client, name, data, media_type) for name, (data, media_type) in documents.items()}
    store = client.vector_stores.create(name="rag")
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=list(ids.values()), **POLL
    )
    errors = {f.id: f.last_error for f in client.vector_stores.files.list(store.id) if f.last_error}
    assert batch.file_counts.completed == len(documents), (batch, errors)
    questions = {
        "How do plants make food from light?": "photosynthesis.txt",
        "What makes a mountain explode with lava?": "volcanoes.md",
        "When is the deadline to file my income taxes?": "taxes.pdf",
        "How long should I cook noodles?": "pasta.txt",
    }
    for question, expected in questions.items():
        hits = client.vector_stores.search(store.id, query=question, max_num_results=3).data
        assert hits[0].filename == expected and hits[0].file_id == ids[expected], (question, hits)
    pdf_text = client.vector_stores.files.content(ids["taxes.pdf"], vector_store_id=store.id)
    assert "thirtieth of April" in " ".join(part.text or "" for part in pdf_text)
    markdown = client.vector_stores.files.content(ids["volcanoes.md"], vector_store_id=store.id)
    assert "**" not in (markdown.data[0].text or "") and "example.org" not in (markdown.data[0].text or "")


def test_bad_input(client: openai.OpenAI, server: StackServer) -> None:
    with pytest.raises(openai.NotFoundError, match="No vector store found"):
        client.vector_stores.retrieve("vs_unknown")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search("vs_unknown", query="x")
    before = {s.id for s in client.vector_stores.list()}
    with pytest.raises(openai.NotFoundError, match="file-nope") as missing:
        client.vector_stores.create(name="x", file_ids=["file-nope"])
    assert missing.value.body["param"] == "file_id"  # type: ignore[index]
    assert {s.id for s in client.vector_stores.list()} == before  # nothing half-written
    with pytest.raises(openai.BadRequestError, match="empty"):
        upload(client, "empty.txt", b"")
    store = client.vector_stores.create(name="bad")
    with pytest.raises(openai.NotFoundError, match="file-nope"):
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-nope")
    image = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("photo.png", io.BytesIO(PNG), "image/png"), **POLL
    )
    assert image.status == "failed" and image.last_error is not None
    assert image.last_error.code == "unsupported_file" and "PNG image" in image.last_error.message
    blank = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("blank.txt", io.BytesIO(b"  \n\n  ")), **POLL
    )
    assert blank.status == "failed" and blank.last_error and blank.last_error.code == "invalid_file"
    assert chunks_of(server, store.id, image.id) == [] and chunks_of(server, store.id, blank.id) == []
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.failed, counts.completed, counts.total) == (2, 0, 2)
    with pytest.raises(openai.BadRequestError, match="chunk_overlap_tokens"):
        client.vector_stores.create(
            name="x",
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 80},
            },
        )
    with pytest.raises(openai.BadRequestError, match="rewrite_query"):
        client.vector_stores.search(store.id, query="x", rewrite_query=True)
    with pytest.raises(openai.BadRequestError, match="Embedding model 'nope'"):
        client.vector_stores.create(name="x", extra_body={"embedding_model": "nope"})


def test_llama_stack_client_paths(server: StackServer) -> None:
    client = LlamaStackClient(base_url=server.url)
    store = client.vector_stores.create(
        name="lsc", embedding_model="all-MiniLM-L6-v2", embedding_dimension=384
    )
    assert store.name == "lsc" and store.file_counts.total == 0
    file_id = (
        openai.OpenAI(base_url=f"{server.url}/v1", api_key="x")
        .files.create(
            file=("owl.txt", io.BytesIO(b"Owls hunt mice at night."), "text/plain"), purpose="assistants"
        )
        .id
    )
    attached = client.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)
    assert attached.status in ("in_progress", "completed")
    sdk = openai.OpenAI(base_url=f"{server.url}/v1/openai/v1", api_key="x")
    assert sdk.vector_stores.files.poll(file_id, vector_store_id=store.id, **POLL).status == "completed"
    found = client.vector_stores.search(vector_store_id=store.id, query="nocturnal birds")
    assert found.data[0].file_id == file_id and found.search_query == "nocturnal birds"
    assert client.vector_stores.delete(vector_store_id=store.id).deleted


@contextmanager
def served_with_custom_auth(tokens: dict[str, Any], home: Path) -> Iterator[StackServer]:
    """The stores stack behind the custom auth endpoint answering ``tokens``."""
    auth_url, auth = spawn_auth_endpoint(tokens, accept_all=False)
    config = stores_config(auth={"provider_config": {"type": "custom", "endpoint": f"{auth_url}/validate"}})
    try:
        with stack_server(config, home) as server:
            yield server
    finally:
        auth.terminate()
        auth.wait()


def test_stores_belong_to_their_owner(tmp_path: Path) -> None:
    tokens = {
        "ta": {"principal": "alice", "access_attributes": {"teams": ["a"]}},
        "tb": {"principal": "bob", "access_attributes": {"teams": ["b"]}},
    }
    with served_with_custom_auth(tokens, tmp_path) as server:
        alice = openai.OpenAI(base_url=f"{server.url}/v1", api_key="ta", timeout=120)
        bob = openai.OpenAI(base_url=f"{server.url}/v1", api_key="tb", timeout=120)
        file_id = upload(alice, "secret.txt", b"The vault code is hidden under the blue rug.")
        store = alice.vector_stores.create(name="private", file_ids=[file_id])
        assert alice.vector_stores.files.poll(file_id, vector_store_id=store.id, **POLL).status == "completed"
        assert [s.id for s in bob.vector_stores.list()] == []
        for call in (
            lambda: bob.vector_stores.retrieve(store.id),
            lambda: bob.vector_stores.search(store.id, query="vault"),
            lambda: bob.vector_stores.files.list(vector_store_id=store.id),
            lambda: bob.vector_stores.files.content(file_id, vector_store_id=store.id),
            lambda: bob.vector_stores.delete(store.id),
        ):
            with pytest.raises(openai.NotFoundError):
                call()
        bobs_store = bob.vector_stores.create(name="bob's")
        with pytest.raises(openai.NotFoundError):  # alice's file is invisible to bob too
            bob.vector_stores.files.create(vector_store_id=bobs_store.id, file_id=file_id)
        query = {"vector_db_id": store.id, "query": "vault"}
        peek = httpx.post(
            f"{server.url}/v1/vector-io/query", json=query, headers={"authorization": "Bearer tb"}
        )
        assert peek.status_code == 404  # nor can bob reach the chunks through vector_io
        assert alice.vector_stores.search(store.id, query="vault").data[0].file_id == file_id


def test_a_team_shares_stores_when_the_endpoint_answers_principal_and_attributes(tmp_path: Path) -> None:
    """Llama Stack's custom-auth answer shape, ``{"principal", "attributes"}``: users of one team
    see each other's stores, others do not."""
    tokens = {
        "ta": {"principal": "alice", "attributes": {"teams": ["ml"]}},
        "tc": {"principal": "carol", "attributes": {"teams": ["ml"]}},
        "tb": {"principal": "bob", "attributes": {"teams": ["web"]}},
    }
    with served_with_custom_auth(tokens, tmp_path) as server:
        alice, carol, bob = (
            openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, timeout=120) for key in ("ta", "tc", "tb")
        )
        store = alice.vector_stores.create(name="team notes")
        assert [s.id for s in carol.vector_stores.list()] == [store.id]
        assert carol.vector_stores.retrieve(store.id).name == "team notes"
        assert [s.id for s in bob.vector_stores.list()] == []
        with pytest.raises(openai.NotFoundError):
            bob.vector_stores.retrieve(store.id)
