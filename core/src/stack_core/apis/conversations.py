"""The Conversations API (OpenAI shape): a stored, ordered list of Responses items.

``POST /v1/conversations`` creates one (optionally with up to 20 first items and ``metadata``),
``GET``/``POST``/``DELETE /v1/conversations/{id}`` retrieve it, replace its ``metadata`` and
delete it with its items; ``/v1/conversations/{id}/items`` adds items and lists them (cursor
pages, as the ``openai`` SDK reads them), ``.../items/{item_id}`` gets or deletes one; every route
also under ``/v1/openai/v1/...``. Conversations are the current user's (another user gets 404).
A response created with ``conversation`` reads the conversation's items as its history and appends
its input and output items to it (``stack_core.apis.responses``).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import ConfigDict, Field, field_validator

from ..spec import ApiModel, ApiSpec, Route
from .responses import Item

__all__ = [
    "CONVERSATIONS_API",
    "AddItemsRequest",
    "Conversation",
    "ConversationDeleted",
    "ConversationIdRequest",
    "ConversationItemList",
    "ConversationsProvider",
    "CreateConversationRequest",
    "ItemRequest",
    "ListItemsRequest",
    "UpdateConversationRequest",
]

Metadata = dict[str, str]


class _Request(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


def _metadata(value: Metadata | None) -> Metadata | None:
    if value is not None and len(value) > 16:
        raise ValueError("metadata holds at most 16 pairs")
    return value


class CreateConversationRequest(_Request):
    items: list[Item] | None = Field(default=None, max_length=20, description="First items (up to 20).")
    metadata: Metadata | None = Field(default=None, description="Up to 16 key-value pairs.")

    _check = field_validator("metadata")(_metadata)


class ConversationIdRequest(_Request):
    conversation_id: str


class UpdateConversationRequest(ConversationIdRequest):
    metadata: Metadata | None = Field(description="Replaces the conversation's metadata.")

    _check = field_validator("metadata")(_metadata)


class AddItemsRequest(ConversationIdRequest):
    items: list[Item] = Field(min_length=1, max_length=20)
    include: list[str] | None = Field(default=None, description="Accepted; items are returned whole.")


class ListItemsRequest(ConversationIdRequest):
    after: str | None = Field(default=None, description="Cursor: items after this id.")
    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"
    include: list[str] | None = None


class ItemRequest(ConversationIdRequest):
    item_id: str
    include: list[str] | None = None


class Conversation(ApiModel):
    id: str
    object: Literal["conversation"] = "conversation"
    created_at: int
    metadata: Metadata = Field(default_factory=dict)


class ConversationDeleted(ApiModel):
    id: str
    object: Literal["conversation.deleted"] = "conversation.deleted"
    deleted: bool = True


class ConversationItemList(ApiModel):
    object: Literal["list"] = "list"
    data: list[Item]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class ConversationsProvider(Protocol):
    """What a Conversations provider implements."""

    async def create_conversation(self, request: CreateConversationRequest) -> Conversation:
        """Create a conversation, with its first items."""
        ...

    async def retrieve_conversation(self, request: ConversationIdRequest) -> Conversation:
        """A conversation of the user's."""
        ...

    async def update_conversation(self, request: UpdateConversationRequest) -> Conversation:
        """Replace a conversation's metadata."""
        ...

    async def delete_conversation(self, request: ConversationIdRequest) -> ConversationDeleted:
        """Delete a conversation and its items."""
        ...

    async def add_items(self, request: AddItemsRequest) -> ConversationItemList:
        """Append items to a conversation; the items as stored (with ids)."""
        ...

    async def list_items(self, request: ListItemsRequest) -> ConversationItemList:
        """A page of a conversation's items."""
        ...

    async def retrieve_item(self, request: ItemRequest) -> Any:
        """One item of a conversation."""
        ...

    async def delete_item(self, request: ItemRequest) -> Conversation:
        """Delete one item of a conversation; the conversation."""
        ...


_ONE = "/v1/conversations/{conversation_id}"
_ITEMS = f"{_ONE}/items"


def _route(
    method: Literal["GET", "POST", "DELETE"], path: str, name: str, request: Any, response: Any
) -> Route:
    summary = (ConversationsProvider.__dict__[name].__doc__ or name).split("\n")[0]
    return Route(method, path, name, request, response, aliases=("/v1/openai" + path,), summary=summary)


CONVERSATIONS_API = ApiSpec(
    name="conversations",
    description="OpenAI-compatible Conversations: stored item lists that responses read and extend.",
    protocol=ConversationsProvider,
    routes=(
        _route("POST", "/v1/conversations", "create_conversation", CreateConversationRequest, Conversation),
        _route("GET", _ONE, "retrieve_conversation", ConversationIdRequest, Conversation),
        _route("POST", _ONE, "update_conversation", UpdateConversationRequest, Conversation),
        _route("DELETE", _ONE, "delete_conversation", ConversationIdRequest, ConversationDeleted),
        _route("POST", _ITEMS, "add_items", AddItemsRequest, ConversationItemList),
        _route("GET", _ITEMS, "list_items", ListItemsRequest, ConversationItemList),
        _route("GET", f"{_ITEMS}/{{item_id}}", "retrieve_item", ItemRequest, Item),
        _route("DELETE", f"{_ITEMS}/{{item_id}}", "delete_item", ItemRequest, Conversation),
    ),
)
