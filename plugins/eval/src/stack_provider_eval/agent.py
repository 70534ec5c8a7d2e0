"""How an agent candidate answers rows, as upstream does: one agent made from the candidate's
``config`` for the whole run (deleted, with its sessions, when the run ends), and for each row a
session and one non-streamed turn given the row's user messages; the turn's output message is the
answer. The agent goes through the in-process Agents API (``context.deps["agents"]``), so the
current user's access rules and the agents provider's loop (tools, shields) apply."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from stack_core import AgentCandidate, ApiHandle, BadRequestError, content_text, decode_reply
from stack_core.apis.agents import (
    AgentConfig,
    AgentIdRequest,
    CreateAgentRequest,
    CreateSessionRequest,
    CreateTurnRequest,
)

from .candidate import user_messages

M = TypeVar("M", bound=BaseModel)


def _valid(model: type[M], data: Mapping[str, Any], what: str, param: str | None = None) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRequestError(f"{what}.{where}: {first['msg']}", param=param) from None


def agent_config(candidate: AgentCandidate) -> AgentConfig:
    """The candidate's ``config`` as an ``AgentConfig``; one that is not is a 400."""
    return _valid(AgentConfig, candidate.config, "eval_candidate.config", "eval_candidate")


class AgentRun:
    """``async with AgentRun(agents, candidate) as run: await run.answer(row)``."""

    def __init__(self, agents: ApiHandle, candidate: AgentCandidate) -> None:
        self.config = agent_config(candidate)
        self._create_agent = agents.handler("create_agent")
        self._delete_agent = agents.handler("delete_agent")
        self._create_session = agents.handler("create_session")
        self._create_turn = agents.handler("create_turn")
        self.agent_id = ""

    async def __aenter__(self) -> AgentRun:
        created = decode_reply(await self._create_agent(CreateAgentRequest(agent_config=self.config)))
        self.agent_id = str(created["agent_id"])
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._delete_agent(AgentIdRequest(agent_id=self.agent_id))

    async def answer(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """``{"generated_answer": ...}`` for one row: the output of a turn in a session of its own."""
        messages = user_messages(row)
        session = decode_reply(
            await self._create_session(CreateSessionRequest(agent_id=self.agent_id, session_name="eval"))
        )
        fields = {"agent_id": self.agent_id, "session_id": session["session_id"], "messages": messages}
        turn = _valid(CreateTurnRequest, fields, "the row's turn")
        reply = decode_reply(await self._create_turn(turn))
        return {"generated_answer": content_text(reply["output_message"]["content"])}
