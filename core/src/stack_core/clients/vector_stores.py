"""``VectorStoresClient``: search vector stores through the Vector stores API, in-process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..apis.vector_stores import SearchVectorStoreRequest, VectorStoreSearchResponse
from ..calls import ApiHandle
from .decode import build_request, decode_model

__all__ = ["VectorStoresClient"]


class VectorStoresClient:
    """Vector stores over ``api``, the object serving the Vector stores API
    (``context.deps["vector_stores"]``), with the current user's access rules."""

    def __init__(self, api: ApiHandle) -> None:
        self._search = api.handler("search")

    async def search(
        self,
        vector_store_id: str,
        query: str | list[str],
        *,
        filters: Mapping[str, Any] | None = None,
        max_num_results: int = 10,
    ) -> VectorStoreSearchResponse:
        """The store's best chunks for ``query``, best first; ``filters`` on file attributes."""
        fields = {
            "vector_store_id": vector_store_id,
            "query": query,
            "filters": dict(filters) if filters is not None else None,
            "max_num_results": max_num_results,
        }
        reply = await self._search(build_request(SearchVectorStoreRequest, fields))
        return decode_model(reply, VectorStoreSearchResponse)
