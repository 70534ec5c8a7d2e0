"""Stored responses, as owned objects (``response``): each response with its own input items.

Nothing is stored twice: the history a response continues is rebuilt by walking its
``previous_response_id`` chain (each response's input, then its output, oldest first), so a chain
of n responses stores n turns, not n²/2. A response of a conversation contributes its own turn only
(its earlier history is the conversation's); a deleted response ends the walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import TypeAdapter

from stack_core import NotFoundError, OwnedObjects
from stack_core.apis.responses import Item, Response

ITEMS: TypeAdapter[list[Item]] = TypeAdapter(list[Item])


@dataclass(frozen=True)
class Stored:
    response: Response
    input: list[Item]


class ResponseStore:
    def __init__(self, objects: OwnedObjects) -> None:
        self.objects = objects

    async def save(self, stored: Stored, *, exists: bool = False) -> None:
        body = {
            "response": stored.response.model_dump(mode="json"),
            "input": ITEMS.dump_python(stored.input, mode="json"),
        }
        if exists:
            await self.objects.update(stored.response.id, body)
        else:
            await self.objects.create(stored.response.id, body)

    async def get(self, response_id: str, param: str = "response_id") -> Stored:
        """A stored response of the user's; 404 (as OpenAI words it) otherwise."""
        try:
            body = (await self.objects.get(response_id)).body
        except NotFoundError:
            raise NotFoundError(
                f"Response with id '{response_id}' not found.", param=param, code="response_not_found"
            ) from None
        return Stored(Response.model_validate(body["response"]), ITEMS.validate_python(body["input"]))

    async def history(self, response_id: str, param: str = "response_id") -> list[Item]:
        """What a response continuing ``response_id`` follows: the chain's turns, oldest first."""
        chain = [await self.get(response_id, param)]
        while (previous := chain[-1].response.previous_response_id) is not None:
            try:
                chain.append(await self.get(previous))
            except NotFoundError:
                break
        return [item for turn in reversed(chain) for item in (*turn.input, *turn.response.output)]

    async def delete(self, response_id: str) -> None:
        await self.get(response_id)
        await self.objects.delete(response_id)

    async def responses(self) -> Sequence[Response]:
        """The user's stored responses, oldest first."""
        return [Response.model_validate(o.body["response"]) for o in await self.objects.list()]
