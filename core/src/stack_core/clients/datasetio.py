"""``DatasetIOClient``: the rows of registered datasets, read and appended in-process (eval, scoring)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ..apis.datasetio import AppendRowsRequest, IterRowsRequest, IterRowsResponse
from ..calls import ApiHandle
from .decode import build_request, decode_model

__all__ = ["DatasetIOClient"]


class DatasetIOClient:
    """Rows over ``api``, the object serving the DatasetIO API (``context.deps["datasetio"]``), with
    the current user's access rules."""

    def __init__(self, api: ApiHandle) -> None:
        self._iterrows = api.handler("iterrows")
        self._append = api.handler("append_rows")

    async def page(self, dataset_id: str, start: int = 0, limit: int | None = None) -> IterRowsResponse:
        """Rows ``start`` to ``start + limit`` (all from ``start`` when ``limit`` is None)."""
        fields = {"dataset_id": dataset_id, "start_index": start, "limit": limit}
        return decode_model(await self._iterrows(build_request(IterRowsRequest, fields)), IterRowsResponse)

    async def rows(
        self, dataset_id: str, *, start: int = 0, stop: int | None = None, page_size: int = 500
    ) -> AsyncIterator[dict[str, Any]]:
        """Rows ``start`` to ``stop`` (or the end), read a page at a time."""
        while stop is None or start < stop:
            limit = page_size if stop is None else min(page_size, stop - start)
            page = await self.page(dataset_id, start, limit)
            for row in page.data:
                yield row
            if not page.has_more or not page.data:
                return
            start += len(page.data)

    async def append(self, dataset_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add rows after the dataset's last row."""
        request = build_request(
            AppendRowsRequest, {"dataset_id": dataset_id, "rows": [dict(r) for r in rows]}
        )
        await self._append(request)
