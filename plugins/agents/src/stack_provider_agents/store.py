"""Stored responses, as owned objects (``response``): the response, its input items and the
history the next response continues (previous history, input, output)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import TypeAdapter

from stack_core import NotFoundError, OwnedObjects
from stack_core.apis.responses import Item, Response

_ITEMS: TypeAdapter[list[Item]] = TypeAdapter(list[Item])


@dataclass(frozen=True)
class Stored:
    response: Response
    input: list[Item]
    history: list[Item]


class ResponseStore:
    def __init__(self, objects: OwnedObjects) -> None:
        self.objects = objects

    async def save(self, stored: Stored, *, exists: bool = False) -> None:
        body = {
            "response": stored.response.model_dump(mode="json"),
            "input": _ITEMS.dump_python(stored.input, mode="json"),
            "history": _ITEMS.dump_python(stored.history, mode="json"),
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
        return Stored(
            Response.model_validate(body["response"]),
            _ITEMS.validate_python(body["input"]),
            _ITEMS.validate_python(body["history"]),
        )

    async def delete(self, response_id: str) -> None:
        await self.get(response_id)
        await self.objects.delete(response_id)

    async def responses(self) -> Sequence[Response]:
        """The user's stored responses, oldest first."""
        return [Response.model_validate(o.body["response"]) for o in await self.objects.list()]
