"""Datasets read a page at a time from rows in SQL or from a file, appended to durably.

A ``rows`` dataset's rows are copied into the stack's database when it is registered; appends add
SQL rows. A ``uri`` dataset is read from its source until rows are appended to it: an append
writes a new JSONL version of the whole dataset (the current version's rows, then the new ones)
beside the others and makes it current (``stack_core.kits.datasets``: a concurrent append retries
on top of it, no row is ever lost).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import orjson

from stack_core import (
    AppendRowsRequest,
    BadRequestError,
    ConflictError,
    Dataset,
    IterRowsRequest,
    IterRowsResponse,
    ProviderContext,
    ProviderReplyError,
    RowsDataSource,
    routed_resource,
)
from stack_core.kits.datasets import DatasetVersions

from .config import LocalFSDatasetIOConfig
from .formats import RowSource, open_uri, read_path
from .store import DatasetStore, Row

_COPY_PAGE = 2000


class LocalFSDatasetIO:
    def __init__(self, config: LocalFSDatasetIOConfig, context: ProviderContext) -> None:
        self.root = (
            Path(config.storage_dir).expanduser() if config.storage_dir else context.state_dir / "datasets"
        )
        self.store = DatasetStore(context)
        self.versions = DatasetVersions(context.database, "datasetio_localfs_versions")

    # -- registry capabilities ----------------------------------------------------------------

    def claims_dataset(self, dataset: Dataset) -> bool:
        return isinstance(dataset.source, RowsDataSource) or not dataset.source.uri.startswith("huggingface")

    async def register_dataset(self, dataset: Dataset) -> Dataset | None:
        source = dataset.source
        if isinstance(source, RowsDataSource):
            if await self.store.count(dataset.identifier) == 0:  # kept across a config's re-registration
                await self.store.append(dataset.identifier, source.rows)
        else:
            await asyncio.to_thread(lambda: open_uri(source.uri).count())  # refuse unreadable sources now
        return None

    async def unregister_dataset(self, dataset: Dataset) -> None:
        await self.store.forget(dataset.identifier)
        await self.versions.forget(dataset.identifier)

    # -- routes -------------------------------------------------------------------------------

    @staticmethod
    def _dataset() -> Dataset:
        dataset = routed_resource.get()
        if not isinstance(dataset, Dataset):
            raise ProviderReplyError("inline::localfs was called without a routed dataset")
        return dataset

    async def _file(self, dataset: Dataset) -> tuple[RowSource, int]:
        """The dataset's current rows (its latest appended version, else its source) and version."""
        version = await self.versions.current(dataset.identifier)
        if version is not None:
            number, path = version
            return await asyncio.to_thread(read_path, Path(path), "jsonl"), number
        assert not isinstance(dataset.source, RowsDataSource)
        uri = dataset.source.uri
        return await asyncio.to_thread(open_uri, uri), 0

    async def iterrows(self, request: IterRowsRequest) -> IterRowsResponse:
        dataset = self._dataset()
        if isinstance(dataset.source, RowsDataSource):
            rows, more = await self.store.page(dataset.identifier, request.start, request.wanted)
            return IterRowsResponse.page(request, rows, more)
        source, _ = await self._file(dataset)

        def read() -> tuple[list[Row], bool]:
            total = source.count()
            stop = total if request.stop is None else min(request.stop, total)
            return source.read(request.start, stop), stop < total

        rows, more = await asyncio.to_thread(read)
        return IterRowsResponse.page(request, rows, more)

    async def append_rows(self, request: AppendRowsRequest) -> None:
        dataset = self._dataset()
        if isinstance(dataset.source, RowsDataSource):
            await self.store.append(dataset.identifier, request.rows)
            return
        for _ in range(20):
            source, number = await self._file(dataset)
            path = (
                self.root
                / dataset.identifier.replace("/", "_")
                / f"v{number + 1}-{uuid.uuid4().hex[:8]}.jsonl"
            )
            await asyncio.to_thread(_write_version, path, source, request.rows)
            if await self.versions.advance(dataset.identifier, number, str(path)):
                return
            path.unlink(missing_ok=True)  # another append won: redo on top of its version
        raise ConflictError(f"Dataset '{dataset.identifier}' is being appended to concurrently; retry.")


async def create_provider(config: LocalFSDatasetIOConfig, context: ProviderContext) -> LocalFSDatasetIO:
    provider = LocalFSDatasetIO(config, context)
    await provider.store.open()
    await provider.versions.open()
    return provider


def _write_version(path: Path, source: RowSource, rows: list[Row]) -> None:
    """A JSONL file holding ``source``'s rows then ``rows``, written whole before it is named."""
    if any(not isinstance(r, dict) for r in rows):
        raise BadRequestError("rows must be objects.", param="rows")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("wb") as handle:
        total = source.count()
        for start in range(0, total, _COPY_PAGE):
            for row in source.read(start, min(start + _COPY_PAGE, total)):
                handle.write(orjson.dumps(row, default=str) + b"\n")
        for row in rows:
            handle.write(orjson.dumps(row, default=str) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
