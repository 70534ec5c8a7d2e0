"""``inline::builtin`` for the ``conversations`` API, and the store the Responses provider shares.

A conversation is an owned object (``conversation``: id, created_at, metadata); each of its items
is one more (``conversation_item``, id ``<conversation id>/<item id>``, with its position), so a
turn appends its items without rewriting the conversation. Both providers of this package read
and write the same objects, each as the current user (the stack's access policy applies).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from pydantic import TypeAdapter

from stack_core import BadRequestError, NotFoundError, OwnedObjects, ProviderContext
from stack_core.apis.conversations import (
    AddItemsRequest,
    Conversation,
    ConversationDeleted,
    ConversationIdRequest,
    ConversationItemList,
    CreateConversationRequest,
    ItemRequest,
    ListItemsRequest,
    UpdateConversationRequest,
)
from stack_core.apis.responses import Item

from .config import ConversationsConfig
from .items import item_page, with_ids, with_parts

_ITEM: TypeAdapter[Item] = TypeAdapter(Item)


class ConversationStore:
    def __init__(self, conversations: OwnedObjects, items: OwnedObjects) -> None:
        self.conversations, self.items = conversations, items

    async def create(self, metadata: dict[str, str] | None) -> Conversation:
        conversation = Conversation(
            id=f"conv_{secrets.token_hex(24)}", created_at=int(time.time()), metadata=metadata or {}
        )
        await self.conversations.create(conversation.id, conversation.model_dump(mode="json"))
        return conversation

    async def get(self, conversation_id: str, param: str = "conversation_id") -> Conversation:
        """A conversation of the user's; 404 otherwise."""
        try:
            body = (await self.conversations.get(conversation_id)).body
        except NotFoundError:
            raise NotFoundError(
                f"Conversation with id '{conversation_id}' not found.",
                param=param,
                code="conversation_not_found",
            ) from None
        return Conversation.model_validate(body)

    async def set_metadata(self, conversation_id: str, metadata: dict[str, str] | None) -> Conversation:
        conversation = await self.get(conversation_id)
        await self.conversations.get(conversation_id, "update")  # 403 for a reader who may not
        conversation = conversation.model_copy(update={"metadata": metadata or {}})
        await self.conversations.update(conversation_id, conversation.model_dump(mode="json"))
        return conversation

    async def delete(self, conversation_id: str) -> None:
        await self.get(conversation_id)
        await self.conversations.delete(conversation_id)
        for item in await self.items.list(f"{conversation_id}/"):
            await self.items.delete(item.identifier)

    async def add(self, conversation_id: str, items: list[Item]) -> list[Item]:
        """Append items (each given an id if it has none, text as parts) to a conversation; the items."""
        await self.get(conversation_id)
        stamped, now = [with_parts(i) for i in with_ids(items)], time.time_ns()
        ids = [str(item.id) for item in stamped]
        if twice := sorted({i for i in ids if ids.count(i) > 1}):
            raise BadRequestError(
                f"Item ids must be unique; given more than once: {', '.join(twice)}.", param="items"
            )
        for n, item in enumerate(stamped):
            body = {"item": _ITEM.dump_python(item, mode="json"), "position": [now, n]}
            await self.items.create(f"{conversation_id}/{item.id}", body)
        return stamped

    async def all(self, conversation_id: str, param: str = "conversation_id") -> list[Item]:
        """A conversation's items, oldest first."""
        await self.get(conversation_id, param)
        rows = sorted(await self.items.list(f"{conversation_id}/"), key=lambda o: o.body["position"])
        return [_ITEM.validate_python(row.body["item"]) for row in rows]

    async def item(self, conversation_id: str, item_id: str) -> Item:
        await self.get(conversation_id)
        try:
            body = (await self.items.get(f"{conversation_id}/{item_id}")).body
        except NotFoundError:
            raise NotFoundError(
                f"Item with id '{item_id}' not found in conversation '{conversation_id}'.",
                param="item_id",
                code="item_not_found",
            ) from None
        return _ITEM.validate_python(body["item"])

    async def delete_item(self, conversation_id: str, item_id: str) -> None:
        await self.item(conversation_id, item_id)
        await self.items.delete(f"{conversation_id}/{item_id}")


def conversation_store(context: ProviderContext) -> ConversationStore:
    return ConversationStore(
        context.owned_objects("conversation"), context.owned_objects("conversation_item")
    )


class ConversationsAdapter:
    def __init__(self, config: ConversationsConfig, context: ProviderContext) -> None:
        self.store = conversation_store(context)

    async def create_conversation(self, request: CreateConversationRequest) -> Conversation:
        conversation = await self.store.create(request.metadata)
        if request.items:
            await self.store.add(conversation.id, request.items)
        return conversation

    async def retrieve_conversation(self, request: ConversationIdRequest) -> Conversation:
        return await self.store.get(request.conversation_id)

    async def update_conversation(self, request: UpdateConversationRequest) -> Conversation:
        return await self.store.set_metadata(request.conversation_id, request.metadata)

    async def delete_conversation(self, request: ConversationIdRequest) -> ConversationDeleted:
        await self.store.delete(request.conversation_id)
        return ConversationDeleted(id=request.conversation_id)

    async def add_items(self, request: AddItemsRequest) -> ConversationItemList:
        added = await self.store.add(request.conversation_id, request.items)
        return ConversationItemList(**item_page(added, "asc", len(added)))

    async def list_items(self, request: ListItemsRequest) -> ConversationItemList:
        items = await self.store.all(request.conversation_id)
        return ConversationItemList(**item_page(items, request.order, request.limit, request.after))

    async def retrieve_item(self, request: ItemRequest) -> Any:
        return await self.store.item(request.conversation_id, request.item_id)

    async def delete_item(self, request: ItemRequest) -> Conversation:
        await self.store.delete_item(request.conversation_id, request.item_id)
        return await self.store.get(request.conversation_id)
