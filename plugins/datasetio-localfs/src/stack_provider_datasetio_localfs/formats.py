"""Row sources with random access: a page costs its rows, wherever it lies.

JSONL and CSV files are indexed once (the byte offset of every row, 8 bytes a row, rebuilt when
the file changes) and read from the page's first offset; Parquet files are read a row group at a
time (the ones the page overlaps). JSON arrays and ``data:`` URIs are parsed whole (they are small
by nature; a large dataset belongs in JSONL or Parquet). CSV values are strings.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
import os
import urllib.parse
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from stack_core import BadRequestError

Row = dict[str, Any]

__all__ = ["RowSource", "open_uri", "read_path"]


class RowSource(Protocol):
    def count(self) -> int: ...

    def read(self, start: int, stop: int) -> list[Row]:
        """Rows ``start`` to ``stop - 1`` (fewer at the end)."""
        ...


@dataclass(frozen=True)
class InMemory:
    rows: list[Row]

    def count(self) -> int:
        return len(self.rows)

    def read(self, start: int, stop: int) -> list[Row]:
        return self.rows[start:stop]


def _object_rows(value: Any, where: str) -> list[Row]:
    rows = value.get("rows", value.get("data")) if isinstance(value, dict) else value
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise BadRequestError(f"{where}: JSON must be an array of objects (or {{'rows': [...]}}).")
    return rows


def _jsonl_row(line: bytes, where: str) -> Row:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise BadRequestError(f"{where}: a line is not JSON: {exc}") from None
    if not isinstance(row, dict):
        raise BadRequestError(f"{where}: every JSONL line must be an object.")
    return row


def _csv_records(lines: Iterator[str]) -> Iterator[list[str]]:
    return csv.reader(lines)


class IndexedFile:
    """A JSONL or CSV file read through an index of its rows' byte offsets."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind = path, kind
        self.header: list[str] = []
        self.offsets = array("q")
        self.end = 0
        self._build()

    def _lines(self, handle: io.BufferedReader, positions: list[int]) -> Iterator[str]:
        while line := handle.readline():
            positions[0] = handle.tell()
            yield line.decode("utf-8-sig" if positions[0] == len(line) else "utf-8")

    def _build(self) -> None:
        with self.path.open("rb") as handle:
            if self.kind == "jsonl":
                offset = 0
                for line in handle:
                    if line.strip():
                        self.offsets.append(offset)
                    offset += len(line)
                self.end = offset
                return
            position = [0]
            records = _csv_records(self._lines(handle, position))
            self.header = next(records, [])
            start = position[0]
            for record in records:
                if record:
                    self.offsets.append(start)
                start = position[0]
            self.end = position[0]

    def count(self) -> int:
        return len(self.offsets)

    def read(self, start: int, stop: int) -> list[Row]:
        stop = min(stop, len(self.offsets))
        if start >= stop:
            return []
        where = str(self.path)
        with self.path.open("rb") as handle:
            handle.seek(self.offsets[start])
            if self.kind == "jsonl":
                rows: list[Row] = []
                while len(rows) < stop - start and (line := handle.readline()):
                    if line.strip():
                        rows.append(_jsonl_row(line, where))
                return rows
            lines = (line.decode("utf-8") for line in iter(handle.readline, b""))
            out: list[Row] = []
            for record in _csv_records(lines):
                if record:
                    out.append(dict(zip(self.header, record, strict=False)))
                if len(out) == stop - start:
                    break
            return out


class ParquetFile:
    """A Parquet file read a row group at a time."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(path)
        sizes = [self.file.metadata.row_group(i).num_rows for i in range(self.file.num_row_groups)]
        self.starts = [0, *itertools.accumulate(sizes)]

    def count(self) -> int:
        return int(self.starts[-1])

    def read(self, start: int, stop: int) -> list[Row]:
        rows: list[Row] = []
        for group in range(len(self.starts) - 1):
            first, last = self.starts[group], self.starts[group + 1]
            if last <= start or first >= stop:
                continue
            table = self.file.read_row_group(group)
            rows += table.slice(max(start - first, 0), min(stop, last) - max(start, first)).to_pylist()
        return rows


_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "json", ".parquet": "parquet"}
_CACHE: dict[tuple[str, int, int], RowSource] = {}


def read_path(path: Path, kind: str | None = None) -> RowSource:
    """The rows of a local file, by its extension (or ``kind``); indexes are cached per version
    (path, size, modification time) of the file."""
    kind = kind or _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise BadRequestError(f"{path}: unknown format; use .csv, .json, .jsonl or .parquet.")
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise BadRequestError(f"Cannot read {path}: {exc.strerror}.") from None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    found = _CACHE.get(key)
    if found is None:
        if kind == "json":
            found = InMemory(_object_rows(json.loads(path.read_bytes()), str(path)))
        elif kind == "parquet":
            found = ParquetFile(path)
        else:
            found = IndexedFile(path, kind)
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = found
    return found


def _data_uri(uri: str) -> RowSource:
    header, comma, payload = uri[5:].partition(",")
    if not comma:
        raise BadRequestError("A data: URI needs a comma before its content.", param="source")
    parts = header.split(";")
    raw = base64.b64decode(payload) if "base64" in parts[1:] else urllib.parse.unquote_to_bytes(payload)
    text = raw.decode("utf-8-sig")
    mime = parts[0].lower()
    if "jsonl" in mime or "ndjson" in mime:
        return InMemory(
            [_jsonl_row(line.encode(), "data: URI") for line in text.splitlines() if line.strip()]
        )
    if "json" in mime or (not mime.endswith("csv") and text.lstrip().startswith(("[", "{"))):
        try:
            return InMemory(_object_rows(json.loads(text), "data: URI"))
        except ValueError:
            lines = [line for line in text.splitlines() if line.strip()]
            return InMemory([_jsonl_row(line.encode(), "data: URI") for line in lines])
    records = list(csv.reader(io.StringIO(text)))
    names, body = (records[0], records[1:]) if records else ([], [])
    return InMemory([dict(zip(names, r, strict=False)) for r in body if r])


def open_uri(uri: str) -> RowSource:
    """The rows of a ``data:`` or ``file://`` URI (or a plain path)."""
    if uri.startswith("data:"):
        return _data_uri(uri)
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme not in ("file", ""):
        raise BadRequestError(
            f"inline::localfs reads data: and file:// URIs, not {parsed.scheme}:// ones.", param="source"
        )
    return read_path(Path(urllib.parse.unquote(parsed.path if parsed.scheme else uri)))
