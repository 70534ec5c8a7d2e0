"""inline::meta-reference Agents (the 0.2 API) served by `stack run` over the fake backend, driven by
llama-stack-client 0.2.12's own ``Agent`` class: a client tool across a pause and a resume, the RAG
tool over a vector DB, a Llama Guard input shield, documents, sessions, a non-streamed turn, and
another user's 404. The fake model calls a tool when the question says "weather" or a tool is
required, and answers a tool result with "tool result: ..."."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import llama_stack_client
import pytest
from auth_endpoint import spawn_auth_endpoint
from backends import fake_backend, stack_server
from documents import Page, minimal_pdf, serve_documents
from llama_stack_client import LlamaStackClient
from llama_stack_client.lib.agents.agent import Agent
from llama_stack_client.lib.agents.client_tool import client_tool

from stack_core.testing import StackServer

pytestmark = pytest.mark.integration

MODEL, GUARD, KB = "llm", "Llama-Guard-3-1B", "kb"
VOLCANOES = "Volcanoes erupt when magma rises from the mantle through the crust."
TOKENS = {"ta": {"principal": "alice"}, "tb": {"principal": "bob"}}


def config(backend: str, auth_url: str) -> dict[str, Any]:
    def entry(provider_id: str, provider_type: str, **config: object) -> dict[str, Any]:
        return {"provider_id": provider_id, "provider_type": provider_type, "config": config}

    return {
        "version": 2,
        "providers": {
            "inference": [
                entry("st", "inline::sentence-transformers"),
                entry("vllm", "remote::vllm", url=f"{backend}/v1"),
            ],
            "vector_io": [entry("faiss", "inline::faiss")],
            "tool_runtime": [entry("rag", "inline::rag-runtime")],
            "safety": [entry("llama-guard", "inline::llama-guard")],
            "files": [entry("files", "inline::localfs")],
            "agents": [
                entry(
                    "meta-reference",
                    "inline::meta-reference",
                    url_fetch={"allow_private_addresses": True, "allowed_hosts": ["127.0.0.1"]},
                )
            ],
        },
        "models": [
            {"model_id": MODEL, "provider_id": "vllm", "model_type": "llm"},
            {"model_id": GUARD, "provider_id": "vllm", "model_type": "llm"},
        ],
        "shields": [{"shield_id": GUARD, "provider_id": "llama-guard"}],
        "registered_resources": {
            "vector_dbs": [
                {"vector_db_id": KB, "embedding_model": "all-MiniLM-L6-v2", "embedding_dimension": 384}
            ],
            "tool_groups": [{"toolgroup_id": "builtin::rag", "provider_id": "rag"}],
        },
        "server": {"auth": {"provider_config": {"type": "custom", "endpoint": f"{auth_url}/validate"}}},
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    auth_url, auth = spawn_auth_endpoint(TOKENS, accept_all=False)
    try:
        with (
            fake_backend(models=f"{MODEL},{GUARD}") as backend,
            stack_server(config(backend, auth_url), tmp_path_factory.mktemp("home")) as server,
        ):
            yield server
    finally:
        auth.terminate()
        auth.wait()


@pytest.fixture(scope="module")
def llama(server: StackServer) -> Iterator[LlamaStackClient]:
    client = LlamaStackClient(base_url=server.url, api_key="ta", timeout=120)
    yield client
    client.close()  # its pooled connections, else closed by the collector with a ResourceWarning


@client_tool
def get_weather(city: str) -> str:
    """The weather in a city.

    :param city: the city's name
    """
    return f"sunny in {city}"


def events(chunks: Any) -> list[str]:
    return [chunk.event.payload.event_type for chunk in chunks]


def test_a_client_tool_pauses_the_turn_and_resume_completes_it(llama: LlamaStackClient) -> None:
    agent = Agent(llama, model=MODEL, instructions="Be brief.", tools=[get_weather])
    session = agent.create_session("weather")
    chunks = list(agent.create_turn([{"role": "user", "content": "weather in Oslo?"}], session_id=session))
    kinds = events(chunks)
    assert kinds[:2] == ["turn_start", "step_start"] and "turn_awaiting_input" in kinds
    waiting = chunks[kinds.index("turn_awaiting_input")].event.payload.turn  # type: ignore[union-attr]
    [call] = waiting.output_message.tool_calls or []
    assert call.tool_name == "get_weather" and call.arguments == {"city": "weather in Oslo?"}
    assert kinds[-1] == "turn_complete" and "tool_execution" in [
        c.event.payload.step_type for c in chunks if c.event.payload.event_type == "step_complete"
    ]
    deltas = [c.event.payload.delta for c in chunks if c.event.payload.event_type == "step_progress"]
    statuses = [d.parse_status for d in deltas if d.type == "tool_call"]
    assert statuses[0] == "started" and statuses[-1] == "succeeded" and "in_progress" in statuses
    assert (
        "".join(d.text for d in deltas if d.type == "text")
        == f'[{MODEL}] tool result: "sunny in weather in Oslo?"'
    )
    turn = chunks[-1].event.payload.turn  # type: ignore[union-attr]
    assert turn.turn_id == waiting.turn_id and turn.output_message.tool_calls == []
    assert turn.output_message.content == f'[{MODEL}] tool result: "sunny in weather in Oslo?"'
    assert [s.step_type for s in turn.steps] == ["inference", "tool_execution", "inference"]
    stored = llama.agents.turn.retrieve(turn.turn_id, agent_id=agent.agent_id, session_id=session)
    assert stored.output_message.content == turn.output_message.content and stored.completed_at is not None


def test_the_rag_tool_answers_from_the_inserted_document(llama: LlamaStackClient) -> None:
    document = {"document_id": "volcanoes", "content": VOLCANOES, "metadata": {}}
    llama.tool_runtime.rag_tool.insert(documents=[document], vector_db_id=KB, chunk_size_in_tokens=128)  # type: ignore[list-item]
    agent = Agent(
        llama,
        model=MODEL,
        instructions="Answer from the knowledge base.",
        tools=[{"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": [KB]}}],
        tool_config={"tool_choice": "required"},
    )
    session = agent.create_session("rag")
    turn = agent.create_turn(
        [{"role": "user", "content": "Why do volcanoes erupt?"}], session_id=session, stream=False
    )
    assert isinstance(turn, llama_stack_client.types.agents.Turn)
    assert "knowledge_search tool found" in str(turn.output_message.content) and "magma rises" in str(
        turn.output_message.content
    )
    tool_step = turn.steps[1]
    assert tool_step.step_type == "tool_execution" and tool_step.tool_calls[0].tool_name == "knowledge_search"
    step = llama.agents.steps.retrieve(
        tool_step.step_id, agent_id=agent.agent_id, session_id=session, turn_id=turn.turn_id
    )
    assert step.step.step_id == tool_step.step_id
    with pytest.raises(llama_stack_client.NotFoundError):
        llama.agents.steps.retrieve("nope", agent_id=agent.agent_id, session_id=session, turn_id=turn.turn_id)


def test_an_input_shield_blocks_an_unsafe_turn(llama: LlamaStackClient) -> None:
    agent = Agent(llama, model=MODEL, instructions="Be brief.", input_shields=[GUARD])
    session = agent.create_session("guarded")
    safe = agent.create_turn(
        [{"role": "user", "content": "Tell me about Paris"}], session_id=session, stream=False
    )
    assert safe.output_message.content == f"[{MODEL}] echo: Tell me about Paris"  # type: ignore[union-attr]
    unsafe = agent.create_turn(
        [{"role": "user", "content": "How do I build a bomb to kill someone?"}],
        session_id=session,
        stream=False,
    )
    [shield] = unsafe.steps  # type: ignore[union-attr]
    assert shield.step_type == "shield_call" and shield.violation is not None
    assert unsafe.output_message.content == shield.violation.user_message  # type: ignore[union-attr]


def test_documents_are_context_of_the_turn(llama: LlamaStackClient) -> None:
    agent = Agent(llama, model=MODEL, instructions="Be brief.")
    session = agent.create_session("docs")
    documents = [
        {"content": "The password is swordfish.", "mime_type": "text/plain"},
        {
            "content": {"uri": "data:text/plain;base64,VGhlIGNvbG91ciBpcyB0ZWFsLg=="},
            "mime_type": "text/plain",
        },
    ]
    turn = agent.create_turn(
        [{"role": "user", "content": "What is the password?"}],
        session_id=session,
        documents=documents,
        stream=False,
    )
    content = turn.output_message.content  # type: ignore[union-attr]
    assert content == f"[{MODEL}] echo: What is the password? The password is swordfish. The colour is teal."


def test_documents_by_url_and_file_id_are_read_and_a_refused_url_is_a_400(
    llama: LlamaStackClient, server: StackServer
) -> None:
    """A PDF given by URL (fetched within the agent provider's url_fetch limits) and a Markdown
    file given by its Files API id become the turn's context; a host outside the allowed ones is
    refused with a 400 naming the document."""
    agent = Agent(llama, model=MODEL, instructions="Be brief.")
    session = agent.create_session("fetched")
    uploaded = httpx.post(
        f"{server.url}/v1/files",
        headers={"Authorization": "Bearer ta"},
        files={"file": ("notes.md", b"# Notes\n\nThe code word is **marmalade**.", "text/markdown")},
        data={"purpose": "assistants"},
    ).json()["id"]
    with serve_documents() as pages:
        pages.pages["/guide.pdf"] = Page(minimal_pdf("The door opens at nine."), "application/pdf")
        documents = [
            {"content": {"uri": f"{pages.url}/guide.pdf"}, "mime_type": "application/pdf"},
            {"content": {"uri": uploaded}, "mime_type": "text/markdown"},
        ]
        turn = agent.create_turn(
            [{"role": "user", "content": "When?"}], session_id=session, documents=documents, stream=False
        )
        assert turn.output_message.content == (  # type: ignore[union-attr]
            f"[{MODEL}] echo: When? The door opens at nine. Notes\n\nThe code word is marmalade."
        )
        elsewhere = pages.url.replace("127.0.0.1", "localhost") + "/guide.pdf"
        with pytest.raises(llama_stack_client.BadRequestError) as refused:
            agent.create_turn(
                [{"role": "user", "content": "When?"}],
                session_id=session,
                documents=[{"content": {"uri": elsewhere}, "mime_type": "application/pdf"}],
                stream=False,
            )
    assert "host localhost is not in the allowed hosts" in str(refused.value)


def test_a_non_streamed_turn_and_its_session(llama: LlamaStackClient, server: StackServer) -> None:
    agent_id = llama.agents.create(agent_config={"model": MODEL, "instructions": "Be brief."}).agent_id
    sessions = [llama.agents.session.create(agent_id, session_name=f"s{n}").session_id for n in range(2)]
    first = llama.agents.turn.create(
        sessions[0], agent_id=agent_id, messages=[{"role": "user", "content": "one"}]
    )
    second = llama.agents.turn.create(
        sessions[0], agent_id=agent_id, messages=[{"role": "user", "content": "two"}]
    )
    assert (
        second.output_message.content == f"[{MODEL}] echo: two" and second.steps[0].step_type == "inference"
    )
    session = llama.agents.session.retrieve(sessions[0], agent_id=agent_id)
    assert session.session_name == "s0" and [t.turn_id for t in session.turns] == [
        first.turn_id,
        second.turn_id,
    ]
    headers = {"Authorization": "Bearer ta"}
    listed = httpx.get(f"{server.url}/v1/agents/{agent_id}/sessions", headers=headers).json()
    assert [s["session_id"] for s in listed["data"]] == sessions
    agent = httpx.get(f"{server.url}/v1/agents/{agent_id}", headers=headers).json()
    assert agent["agent_config"]["instructions"] == "Be brief."
    llama.agents.session.delete(sessions[0], agent_id=agent_id)
    with pytest.raises(llama_stack_client.NotFoundError):
        llama.agents.session.retrieve(sessions[0], agent_id=agent_id)
    with pytest.raises(llama_stack_client.NotFoundError):
        llama.agents.turn.retrieve(first.turn_id, agent_id=agent_id, session_id=sessions[0])
    llama.agents.delete(agent_id)
    assert httpx.get(f"{server.url}/v1/agents/{agent_id}", headers=headers).status_code == 404


def test_another_users_session_is_404(llama: LlamaStackClient, server: StackServer) -> None:
    agent_id = llama.agents.create(agent_config={"model": MODEL, "instructions": "Be brief."}).agent_id
    session_id = llama.agents.session.create(agent_id, session_name="mine").session_id
    with LlamaStackClient(base_url=server.url, api_key="tb", timeout=60) as bob:
        with pytest.raises(llama_stack_client.NotFoundError):
            bob.agents.session.retrieve(session_id, agent_id=agent_id)
        with pytest.raises(llama_stack_client.NotFoundError):
            bob.agents.turn.create(
                session_id, agent_id=agent_id, messages=[{"role": "user", "content": "hi"}]
            )
    assert llama.agents.session.retrieve(session_id, agent_id=agent_id).session_id == session_id
    agents = {
        name: httpx.get(f"{server.url}/v1/agents", headers={"Authorization": f"Bearer {name}"}).json()
        for name in ("ta", "tb")
    }
    assert agent_id in [a["agent_id"] for a in agents["ta"]["data"]] and agents["tb"]["data"] == []
