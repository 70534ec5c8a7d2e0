"""Datasets loaded with the ``datasets`` library, paged by Arrow slices.

``huggingface://datasets/<path>?k=v&...`` means ``datasets.load_dataset(<path>, k=v, ...)`` (the
0.2 line's reading: a hub id such as ``llamastack/simpleqa``, or a builder such as ``json`` with
``data_files=``); a ``<path>`` that is a directory written by ``save_to_disk`` is opened with
``load_from_disk`` (its ``split`` chosen from a ``DatasetDict``). A loaded dataset is kept open
(memory-mapped Arrow, so a page costs its rows and memory does not grow with the dataset) instead
of being reloaded on every call as upstream does.

Appending saves a new version (every row so far, then the new ones, with the dataset's features)
with ``save_to_disk`` and makes it current (``stack_core.kits.datasets``); versions are never
rewritten, so no row is lost.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import datasets

from stack_core import (
    AppendRowsRequest,
    BadRequestError,
    ConflictError,
    Dataset,
    IterRowsRequest,
    IterRowsResponse,
    ProviderContext,
    ProviderReplyError,
    UriDataSource,
    routed_resource,
)
from stack_core.kits.datasets import DatasetVersions

from .config import HuggingFaceDatasetIOConfig

Row = dict[str, Any]


def parse_uri(uri: str) -> tuple[str, dict[str, str]]:
    """``huggingface://datasets/<path>?k=v`` → (path, {k: v}); the first value of each key."""
    parsed = urllib.parse.urlparse(uri)
    params = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}
    return parsed.path.lstrip("/"), params


def _saved_dir(path: str) -> Path | None:
    for candidate in (Path("/" + path), Path(path)):
        if candidate.is_dir() and any(
            (candidate / marker).exists()
            for marker in ("state.json", "dataset_dict.json", "dataset_info.json")
        ):
            return candidate
    return None


def _split(loaded: Any, split: str | None, where: str) -> datasets.Dataset:
    if isinstance(loaded, datasets.DatasetDict):
        if split is None and len(loaded) == 1:
            split = next(iter(loaded))
        if split not in loaded:
            raise BadRequestError(
                f"{where}: no split {split!r}; splits: {', '.join(loaded)}.", param="source"
            )
        loaded = loaded[split]
    if not isinstance(loaded, datasets.Dataset):
        raise BadRequestError(f"{where}: not a dataset with rows (streaming datasets are not supported).")
    return loaded


def load(uri: str) -> datasets.Dataset:
    path, params = parse_uri(uri)
    saved = _saved_dir(path)
    try:
        if saved is not None:
            return _split(datasets.load_from_disk(str(saved)), params.get("split"), uri)
        return _split(datasets.load_dataset(path, **params), params.get("split"), uri)
    except BadRequestError:
        raise
    except Exception as exc:  # the library's errors: not found, offline, bad builder arguments
        raise BadRequestError(f"Cannot load {uri}: {type(exc).__name__}: {exc}", param="source") from None


class HuggingFaceDatasetIO:
    def __init__(self, config: HuggingFaceDatasetIOConfig, context: ProviderContext) -> None:
        self.config = config
        self.root = (
            Path(config.storage_dir).expanduser() if config.storage_dir else context.state_dir / "hf-datasets"
        )
        self.versions = DatasetVersions(context.database, "datasetio_huggingface_versions")
        self._open: OrderedDict[str, datasets.Dataset] = OrderedDict()

    def claims_dataset(self, dataset: Dataset) -> bool:
        return isinstance(dataset.source, UriDataSource) and dataset.source.uri.startswith("huggingface")

    async def register_dataset(self, dataset: Dataset) -> Dataset | None:
        if not self.claims_dataset(dataset):
            raise BadRequestError(
                "remote::huggingface reads huggingface://datasets/<path>?split=... URIs; register rows and "
                "files with an inline::localfs provider.",
                param="source",
            )
        return None  # loaded on first read: a run config's hub datasets must not download at start-up

    async def unregister_dataset(self, dataset: Dataset) -> None:
        await self.versions.forget(dataset.identifier)

    async def _dataset(self, location: str) -> datasets.Dataset:
        found = self._open.get(location)
        if found is None:
            if location.startswith("huggingface"):
                found = await asyncio.to_thread(load, location)
            else:
                found = await asyncio.to_thread(datasets.load_from_disk, location)
            assert isinstance(found, datasets.Dataset)
            self._open[location] = found
            while len(self._open) > self.config.cached_datasets:
                self._open.popitem(last=False)
        self._open.move_to_end(location)
        return found

    async def _current(self, dataset: Dataset) -> tuple[datasets.Dataset, int]:
        version = await self.versions.current(dataset.identifier)
        if version is not None:
            return await self._dataset(version[1]), version[0]
        if not isinstance(dataset.source, UriDataSource):
            raise ProviderReplyError(f"dataset '{dataset.identifier}' has no huggingface:// source")
        return await self._dataset(dataset.source.uri), 0

    @staticmethod
    def _routed() -> Dataset:
        dataset = routed_resource.get()
        if not isinstance(dataset, Dataset):
            raise ProviderReplyError("remote::huggingface was called without a routed dataset")
        return dataset

    async def iterrows(self, request: IterRowsRequest) -> IterRowsResponse:
        loaded, _ = await self._current(self._routed())
        total = loaded.num_rows
        stop = total if request.stop is None else min(request.stop, total)
        start = min(request.start, total)
        rows = await asyncio.to_thread(lambda: loaded.select(range(start, stop)).to_list())
        return IterRowsResponse.page(request, rows, stop < total)

    async def append_rows(self, request: AppendRowsRequest) -> None:
        dataset = self._routed()
        for _ in range(20):
            loaded, number = await self._current(dataset)
            where = self.root / dataset.identifier.replace("/", "_") / f"v{number + 1}-{uuid.uuid4().hex[:8]}"
            await asyncio.to_thread(_save_version, where, loaded, request.rows)
            if await self.versions.advance(dataset.identifier, number, str(where)):
                return
        raise ConflictError(f"Dataset '{dataset.identifier}' is being appended to concurrently; retry.")


def _save_version(where: Path, loaded: datasets.Dataset, rows: list[Row]) -> None:
    try:
        added = datasets.Dataset.from_list(rows, features=loaded.features)
    except Exception as exc:
        raise BadRequestError(f"rows do not fit the dataset's features {loaded.features}: {exc}") from None
    datasets.concatenate_datasets([loaded, added]).save_to_disk(str(where))


async def create_provider(
    config: HuggingFaceDatasetIOConfig, context: ProviderContext
) -> HuggingFaceDatasetIO:
    provider = HuggingFaceDatasetIO(config, context)
    await provider.versions.open()
    return provider
