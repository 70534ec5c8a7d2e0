"""One vector DB on disk: SQLite (chunks, FTS5, embeddings) and a faiss HNSW graph over it.

Graph labels are the SQLite row labels. Replacing or deleting a chunk deletes its row and masks its
label (an ``IDSelectorNot``) until a quarter of the graph is dead, when the graph is rebuilt from
SQLite. ``generation`` counts committed writes; the saved graph records the generation it reflects
and is only loaded if that is still current. Not thread-safe: the caller holds ``lock``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import orjson
from numpy.typing import NDArray

from stack_core import ComparisonFilter, IndexedChunk, MetadataFilter, VectorHit, keyword_terms

from .config import FaissConfig

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    label INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, text TEXT NOT NULL,
    document TEXT NOT NULL, metadata TEXT NOT NULL, embedding BLOB NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, content='chunks', content_rowid='label');
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.label, new.text); END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.label, old.text); END;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_SQL_OPS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
Vectors = NDArray[np.float32]


def sql_filter(where: MetadataFilter, params: list[Any]) -> str:
    """A SQLite condition on ``metadata`` (JSON) for the filter; values are appended to ``params``."""
    if not isinstance(where, ComparisonFilter):
        glue = " AND " if where.type == "and" else " OR "
        return "(" + glue.join(sql_filter(f, params) for f in where.filters) + ")"
    params.append("$." + orjson.dumps(where.key).decode())
    field = "json_extract(metadata, ?)"
    if isinstance(where.value, list):
        params.extend(where.value)
        marks = ", ".join("?" * len(where.value))
        return f"({field} {'NOT IN' if where.type == 'nin' else 'IN'} ({marks}))"
    params.append(where.value)
    return f"({field} {_SQL_OPS[where.type]} ?)"


def _normalised(vectors: Vectors) -> Vectors:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    faiss.normalize_L2(vectors)
    return vectors


class Collection:
    def __init__(self, directory: Path, dimension: int, config: FaissConfig) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.dimension, self.config = directory, dimension, config
        self.lock = threading.Lock()
        self.db = sqlite3.connect(directory / "chunks.sqlite3", check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('dimension', ?)", (dimension,))
        stored = self._meta("dimension")
        if stored != dimension:
            self.db.close()
            raise ValueError(f"collection holds {stored}-dimensional vectors, not {dimension}")
        self.dead: set[int] = set()
        self._mask: Any = None
        self.next_label = int(self.db.execute("SELECT coalesce(max(label), 0) + 1 FROM chunks").fetchone()[0])
        self.index = self._load() or self._rebuild()

    # -- persistence ---------------------------------------------------------------------------

    def _meta(self, key: str) -> int | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else None

    def _empty_index(self) -> Any:
        graph = faiss.IndexHNSWFlat(self.dimension, self.config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = self.config.ef_construction
        return faiss.IndexIDMap2(graph)

    def _load(self) -> Any | None:
        path = self.directory / "index.faiss"
        saved = self._meta("saved_generation")
        if not path.exists() or saved is None or saved != (self._meta("generation") or 0):
            return None
        index: Any = faiss.read_index(str(path))
        labels = set(faiss.vector_to_array(index.id_map).tolist())
        live = {row[0] for row in self.db.execute("SELECT label FROM chunks")}
        if live - labels:
            return None
        self.dead = labels - live
        return index

    def _rebuild(self) -> Any:
        index = self._empty_index()
        rows = self.db.execute("SELECT label, embedding FROM chunks ORDER BY label").fetchall()
        if rows:
            labels = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
            index.add_with_ids(_normalised(vectors), labels)
        self.dead, self._mask = set(), None
        return index

    def save(self) -> None:
        generation = self._meta("generation") or 0
        if self._meta("saved_generation") == generation and (self.directory / "index.faiss").exists():
            return
        tmp = self.directory / "index.faiss.tmp"
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, self.directory / "index.faiss")
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('saved_generation', ?)", (generation,))

    def close(self) -> None:
        self.save()
        self.db.close()

    # -- writes --------------------------------------------------------------------------------

    def _bump(self) -> None:
        self.db.execute(
            "INSERT INTO meta VALUES ('generation', 1) ON CONFLICT(key) DO UPDATE SET value = value + 1"
        )

    def _labels(self, ids: Sequence[str]) -> list[int]:
        labels: list[int] = []
        for start in range(0, len(ids), 500):
            batch = list(ids[start : start + 500])
            marks = ", ".join("?" * len(batch))
            labels += [
                r[0] for r in self.db.execute(f"SELECT label FROM chunks WHERE id IN ({marks})", batch)
            ]
        return labels

    def upsert(self, chunks: Sequence[IndexedChunk]) -> None:
        vectors = _normalised(np.asarray([c.embedding for c in chunks], dtype=np.float32))
        labels = np.arange(self.next_label, self.next_label + len(chunks), dtype=np.int64)
        rows = [
            (
                int(label),
                c.id,
                c.text,
                orjson.dumps(c.document).decode(),
                orjson.dumps(c.metadata).decode(),
                np.asarray(c.embedding, dtype=np.float32).tobytes(),
            )
            for label, c in zip(labels, chunks, strict=True)
        ]
        self.db.execute("BEGIN")
        try:
            replaced = self._labels([c.id for c in chunks])
            for start in range(0, len(chunks), 500):
                batch = [c.id for c in chunks[start : start + 500]]
                self.db.execute(f"DELETE FROM chunks WHERE id IN ({', '.join('?' * len(batch))})", batch)
            self.db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._bump()
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.next_label += len(chunks)
        self.index.add_with_ids(vectors, labels)
        self._bury(replaced)

    def delete(self, ids: Sequence[str]) -> None:
        self.db.execute("BEGIN")
        try:
            labels = self._labels(ids)
            for start in range(0, len(labels), 500):
                batch = labels[start : start + 500]
                self.db.execute(f"DELETE FROM chunks WHERE label IN ({', '.join('?' * len(batch))})", batch)
            self._bump()
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self._bury(labels)

    def _bury(self, labels: list[int]) -> None:
        if not labels:
            return
        self.dead.update(labels)
        self._mask = None
        if len(self.dead) > max(1000, self.index.ntotal // 4):
            self.index = self._rebuild()

    # -- queries -------------------------------------------------------------------------------

    def _alive_selector(self) -> Any:
        if not self.dead:
            return None
        if self._mask is None:
            batch = faiss.IDSelectorBatch(np.fromiter(self.dead, dtype=np.int64, count=len(self.dead)))
            self._mask = (faiss.IDSelectorNot(batch), batch)
        return self._mask[0]

    def query_vector(
        self, embedding: list[float], k: int, where: MetadataFilter | None, with_embeddings: bool
    ) -> list[VectorHit]:
        query = _normalised(np.asarray([embedding], dtype=np.float32))
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = max(self.config.ef_search, k)
        keep: Any = None
        if where is not None:
            args: list[Any] = []
            condition = sql_filter(where, args)
            allowed = [r[0] for r in self.db.execute(f"SELECT label FROM chunks WHERE {condition}", args)]
            if len(allowed) <= self.config.exact_below:
                return self._exact(query, allowed, k, with_embeddings)
            keep = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            params.sel = keep
        else:
            selector = self._alive_selector()
            if selector is not None:
                params.sel = selector
        scores, labels = self.index.search(query, k, params=params)
        found = [
            (int(label), float(score))
            for label, score in zip(labels[0], scores[0], strict=True)
            if label >= 0
        ]
        del keep
        return self._hits(found, with_embeddings)

    def _exact(self, query: Vectors, labels: list[int], k: int, with_embeddings: bool) -> list[VectorHit]:
        if not labels:
            return []
        vectors = _normalised(np.vstack([self.index.reconstruct(label) for label in labels]))
        scores = vectors @ query[0]
        best = np.argsort(-scores)[:k]
        return self._hits([(labels[i], float(scores[i])) for i in best], with_embeddings)

    def query_keyword(
        self, text: str, k: int, where: MetadataFilter | None, with_embeddings: bool
    ) -> list[VectorHit]:
        match = " OR ".join(f'"{t}"' for t in keyword_terms(text))
        args: list[Any] = [match]
        condition = f"AND {sql_filter(where, args)}" if where else ""
        args.append(k)
        rows = self.db.execute(
            "SELECT chunks.label, -bm25(chunks_fts) FROM chunks_fts JOIN chunks ON chunks.label = chunks_fts.rowid "
            f"WHERE chunks_fts MATCH ? {condition} ORDER BY bm25(chunks_fts) LIMIT ?",
            args,
        ).fetchall()
        return self._hits([(int(r[0]), float(r[1])) for r in rows], with_embeddings)

    def _hits(self, found: list[tuple[int, float]], with_embeddings: bool) -> list[VectorHit]:
        if not found:
            return []
        marks = ", ".join("?" * len(found))
        columns = "label, id, document" + (", embedding" if with_embeddings else "")
        rows = {
            r[0]: r
            for r in self.db.execute(
                f"SELECT {columns} FROM chunks WHERE label IN ({marks})", [f[0] for f in found]
            )
        }
        hits = []
        for label, score in found:
            row = rows.get(label)
            if row is not None:
                vector = np.frombuffer(row[3], dtype=np.float32).tolist() if with_embeddings else None
                hits.append(VectorHit(row[1], score, orjson.loads(row[2]), vector))
        return hits
