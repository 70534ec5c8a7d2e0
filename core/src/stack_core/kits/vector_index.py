"""What a vector backend implements (``VectorIndex``), and ranking helpers backends share.

A backend stores, per collection (named ``VectorDB.provider_key``), chunks as ``IndexedChunk``:
an id, the embedding, the flattened lower-case text (for keyword search), the chunk's metadata (for
filters) and an opaque JSON ``document`` it hands back unchanged in each ``VectorHit``. Scores are higher
for better matches: cosine similarity for vector queries, BM25-like relevance for keyword queries.
``VectorIOAdapter`` (``stack_core.kits.vector_adapter``) turns a ``VectorIndex`` into a provider.

Backends without a scored full-text search of their own fetch candidate chunks with their text
matching and rank them with ``bm25_rank``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..apis.vector_io import MetadataFilter
from ..resources import VectorDB

__all__ = [
    "IndexedChunk",
    "VectorHit",
    "VectorIndex",
    "bm25_rank",
    "fuse_rrf",
    "fuse_weighted",
    "keyword_terms",
]


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    """A chunk as a backend stores it."""

    id: str
    embedding: list[float]
    text: str
    metadata: dict[str, Any]
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VectorHit:
    """One query result: the stored ``document``, its score, and its embedding when asked for."""

    id: str
    score: float
    document: dict[str, Any]
    embedding: list[float] | None = None


class VectorIndex(Protocol):
    """A vector backend: collections of ``IndexedChunk``, queried by vector or by keywords.

    ``create`` is idempotent and called before a collection is first used in a process (also after
    restarts), so it must open an existing collection rather than fail. Filters are the typed
    metadata filters of the API; a backend translates them to its own query language.
    """

    async def create(self, db: VectorDB) -> None:
        """Create (or open) the collection for ``db`` with ``db.embedding_dimension`` dimensions."""
        ...

    async def drop(self, db: VectorDB) -> None:
        """Delete the collection and its chunks; a missing collection is not an error."""
        ...

    async def upsert(self, db: VectorDB, chunks: Sequence[IndexedChunk]) -> None:
        """Insert chunks, replacing stored chunks with the same id."""
        ...

    async def delete(self, db: VectorDB, ids: Sequence[str]) -> None:
        """Delete chunks by id; unknown ids are ignored."""
        ...

    async def query_vector(
        self,
        db: VectorDB,
        embedding: list[float],
        k: int,
        where: MetadataFilter | None,
        with_embeddings: bool,
    ) -> list[VectorHit]:
        """The ``k`` nearest chunks by cosine similarity (score = similarity), best first."""
        ...

    async def query_keyword(
        self, db: VectorDB, text: str, k: int, where: MetadataFilter | None, with_embeddings: bool
    ) -> list[VectorHit]:
        """The ``k`` most relevant chunks for the words of ``text`` (BM25-like score), best first."""
        ...

    async def close(self) -> None:
        """Release connections and files."""
        ...


_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


def keyword_terms(text: str) -> list[str]:
    """Lower-case word tokens of ``text`` without stop words, in order, each once."""
    return list(dict.fromkeys(t for t in _WORD.findall(text.lower()) if t not in STOPWORDS))


def bm25_rank(
    terms: Sequence[str],
    candidates: Sequence[tuple[VectorHit, str]],
    total_docs: int,
    k: int,
    *,
    k1: float = 1.2,
    b: float = 0.75,
) -> list[VectorHit]:
    """Rank ``(hit, text)`` candidates by BM25 for ``terms``; document frequencies are counted over
    the candidates (exact when they are every chunk containing a term), ``total_docs`` sizes the IDF."""
    docs = [Counter(_WORD.findall(text.lower())) for _, text in candidates]
    if not docs:
        return []
    avgdl = sum(sum(d.values()) for d in docs) / len(docs) or 1.0
    df = {t: sum(1 for d in docs if t in d) for t in terms}
    n = max(total_docs, len(docs))
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms}
    scored: list[VectorHit] = []
    for (hit, _), doc in zip(candidates, docs, strict=True):
        length = sum(doc.values())
        score = 0.0
        for t in terms:
            tf = doc.get(t, 0)
            if tf:
                score += idf[t] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgdl))
        if score > 0:
            scored.append(VectorHit(hit.id, score, hit.document, hit.embedding))
    scored.sort(key=lambda h: h.score, reverse=True)
    return scored[:k]


def fuse_rrf(rankings: Sequence[Sequence[VectorHit]], impact_factor: float) -> list[VectorHit]:
    """Reciprocal rank fusion: score = sum over rankings of 1 / (impact_factor + rank)."""
    scores: dict[str, float] = {}
    hits: dict[str, VectorHit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (impact_factor + rank)
            hits.setdefault(hit.id, hit)
    return _ordered(scores, hits)


def fuse_weighted(vector: Sequence[VectorHit], keyword: Sequence[VectorHit], alpha: float) -> list[VectorHit]:
    """alpha * vector score + (1 - alpha) * keyword score, each min-max normalised (absent = 0)."""
    scores: dict[str, float] = {}
    hits: dict[str, VectorHit] = {}
    for ranking, weight in ((vector, alpha), (keyword, 1.0 - alpha)):
        if not ranking:
            continue
        low, high = min(h.score for h in ranking), max(h.score for h in ranking)
        span = high - low
        for hit in ranking:
            normalised = (hit.score - low) / span if span > 0 else 1.0
            scores[hit.id] = scores.get(hit.id, 0.0) + weight * normalised
            hits.setdefault(hit.id, hit)
    return _ordered(scores, hits)


def _ordered(scores: dict[str, float], hits: dict[str, VectorHit]) -> list[VectorHit]:
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    return [VectorHit(i, s, hits[i].document, hits[i].embedding) for i, s in ranked]
