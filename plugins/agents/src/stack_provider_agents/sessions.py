"""Agents, sessions and turns of the 0.2 Agents API, as owned objects (the current user's only).

``agent`` objects hold an ``Agent``; ``agent_session`` objects, keyed ``<agent_id>/<session_id>``,
a session's name and start; ``agent_turn`` objects, keyed ``<session_id>/<turn_id>``, a ``Turn``
with what the loop needs to go on: the chat messages at its end (the next turn continues them) and
the turn's own tool groups and tool config (a resumed turn offers the same tools).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from stack_core import NotFoundError, OwnedObjects
from stack_core.apis.agents import Agent, AgentConfig, Session, Toolgroup, Turn
from stack_core.apis.inference_native import ToolConfig

from .loop import Message

_GROUPS: TypeAdapter[list[Toolgroup]] = TypeAdapter(list[Toolgroup])


@dataclass
class TurnRecord:
    turn: Turn
    messages: list[Message]
    """The chat messages at the turn's end (or where it waits for the caller's tool responses)."""
    toolgroups: list[Toolgroup]
    tool_config: ToolConfig | None

    def body(self) -> dict[str, Any]:
        return {
            "turn": self.turn.model_dump(mode="json"),
            "messages": self.messages,
            "toolgroups": _GROUPS.dump_python(self.toolgroups, mode="json"),
            "tool_config": self.tool_config.model_dump(mode="json") if self.tool_config else None,
        }

    @classmethod
    def of(cls, body: dict[str, Any]) -> TurnRecord:
        config = body.get("tool_config")
        return cls(
            Turn.model_validate(body["turn"]),
            body["messages"],
            _GROUPS.validate_python(body["toolgroups"]),
            ToolConfig.model_validate(config) if config else None,
        )


async def _get(objects: OwnedObjects, key: str, what: str) -> dict[str, Any]:
    try:
        return (await objects.get(key)).body
    except NotFoundError:
        raise NotFoundError(f"{what} not found.") from None


class AgentStore:
    def __init__(self, agents: OwnedObjects, sessions: OwnedObjects, turns: OwnedObjects) -> None:
        self._agents, self._sessions, self._turns = agents, sessions, turns

    # -- agents --------------------------------------------------------------------------------

    async def create_agent(self, agent_id: str, config: AgentConfig) -> None:
        agent = Agent(agent_id=agent_id, agent_config=config, created_at=datetime.now(UTC))
        await self._agents.create(agent_id, agent.model_dump(mode="json"))

    async def agent(self, agent_id: str) -> Agent:
        return Agent.model_validate(await _get(self._agents, agent_id, f"Agent '{agent_id}'"))

    async def agents(self) -> list[Agent]:
        return [Agent.model_validate(o.body) for o in await self._agents.list()]

    async def delete_agent(self, agent_id: str) -> None:
        await self.agent(agent_id)
        for session in await self.sessions(agent_id):
            await self.delete_session(agent_id, session.session_id)
        await self._agents.delete(agent_id)

    # -- sessions ------------------------------------------------------------------------------

    async def create_session(self, agent_id: str, session_id: str, name: str) -> None:
        await self.agent(agent_id)
        session = Session(session_id=session_id, session_name=name, started_at=datetime.now(UTC))
        await self._sessions.create(f"{agent_id}/{session_id}", session.model_dump(mode="json"))

    async def session(self, agent_id: str, session_id: str) -> Session:
        """A session without its turns."""
        body = await _get(self._sessions, f"{agent_id}/{session_id}", f"Session '{session_id}'")
        return Session.model_validate(body)

    async def sessions(self, agent_id: str) -> list[Session]:
        return [Session.model_validate(o.body) for o in await self._sessions.list(f"{agent_id}/")]

    async def delete_session(self, agent_id: str, session_id: str) -> None:
        await self.session(agent_id, session_id)
        for turn in await self._turns.list(f"{session_id}/"):
            await self._turns.delete(turn.identifier)
        await self._sessions.delete(f"{agent_id}/{session_id}")

    # -- turns ---------------------------------------------------------------------------------

    async def save_turn(self, record: TurnRecord, *, exists: bool) -> None:
        key = f"{record.turn.session_id}/{record.turn.turn_id}"
        if exists:
            await self._turns.update(key, record.body())
        else:
            await self._turns.create(key, record.body())

    async def turn(self, session_id: str, turn_id: str) -> TurnRecord:
        return TurnRecord.of(await _get(self._turns, f"{session_id}/{turn_id}", f"Turn '{turn_id}'"))

    async def turns(self, session_id: str) -> list[TurnRecord]:
        """A session's turns, oldest first."""
        return [TurnRecord.of(o.body) for o in await self._turns.list(f"{session_id}/")]
