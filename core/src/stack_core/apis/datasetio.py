"""The DatasetIO API: the rows of registered datasets, read a page at a time and appended to.

Routes follow the 0.2 reference line (``llama-stack-client==0.2.12``):
``GET /v1/datasetio/iterrows/{dataset_id}?start_index=&limit=`` (``limit`` -1 or absent: every row
from ``start_index``) and ``POST /v1/datasetio/append-rows/{dataset_id}``; the datasets themselves
are the ``dataset`` resource (``/v1/datasets``). A page also says where the next one starts
(``next_start_index``, absent on the last page), as the 0.1 line did.

Providers read the dataset being addressed (its ``source``) from ``stack_core.routed_resource``.
They stream from the source: a page costs what its rows cost, wherever it lies in the dataset.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import ConfigDict, Field

from ..spec import ApiModel, ApiSpec, Route
from .resources import DATASETS

__all__ = ["DATASETIO_API", "AppendRowsRequest", "DatasetIOProvider", "IterRowsRequest", "IterRowsResponse"]


class IterRowsRequest(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    dataset_id: str
    start_index: int | None = Field(default=None, ge=0, description="First row (0-based); default 0.")
    limit: int | None = Field(default=None, ge=-1, description="Rows in the page; -1 or absent: all.")

    @property
    def start(self) -> int:
        return self.start_index or 0

    @property
    def wanted(self) -> int | None:
        """How many rows the page holds at most, or None for all from ``start``."""
        return None if self.limit is None or self.limit < 0 else self.limit

    @property
    def stop(self) -> int | None:
        """One past the page's last row, or None for every row from ``start``."""
        return None if self.limit is None or self.limit < 0 else self.start + self.limit


class IterRowsResponse(ApiModel):
    data: list[dict[str, Any]]
    has_more: bool
    next_start_index: int | None = None
    url: str | None = None

    @classmethod
    def page(cls, request: IterRowsRequest, rows: list[dict[str, Any]], more: bool) -> IterRowsResponse:
        """The page of ``rows`` starting at ``request.start``; ``more`` if rows follow it."""
        return cls(data=rows, has_more=more, next_start_index=request.start + len(rows) if more else None)


class AppendRowsRequest(ApiModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    dataset_id: str
    rows: list[dict[str, Any]] = Field(description="Rows to add after the dataset's last row.")


class DatasetIOProvider(Protocol):
    """What a DatasetIO provider implements; optional: ``claims_dataset`` (which sources it reads),
    ``register_dataset`` (check a source, store rows), ``unregister_dataset``, ``health()``."""

    async def iterrows(self, request: IterRowsRequest) -> IterRowsResponse:
        """One page of the routed dataset's rows (read at most the page, not the whole source)."""
        ...

    async def append_rows(self, request: AppendRowsRequest) -> None:
        """Add rows after the dataset's last row, durably; every row read before stays."""
        ...


DATASETIO_API = ApiSpec(
    name="datasetio",
    description="Rows of registered datasets: paged reads and appends.",
    protocol=DatasetIOProvider,
    resource=DATASETS,
    routes=(
        Route(
            "GET",
            "/v1/datasetio/iterrows/{dataset_id:path}",
            "iterrows",
            IterRowsRequest,
            IterRowsResponse,
            routing_key="dataset_id",
            summary="A page of a dataset's rows.",
        ),
        Route(
            "POST",
            "/v1/datasetio/append-rows/{dataset_id:path}",
            "append_rows",
            AppendRowsRequest,
            None,
            routing_key="dataset_id",
            summary="Append rows to a dataset.",
        ),
    ),
)
