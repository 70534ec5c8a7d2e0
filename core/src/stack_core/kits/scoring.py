"""Building blocks of scoring providers: the aggregations, with the 0.2 reference line's semantics.

``accuracy``: the mean of the scores, with ``num_correct`` and ``num_total``; ``average``: the mean
of the scores that are not None; ``weighted_average``: sum(score * weight) / sum(weight) over rows
with a score; ``median``: of the scores that are not None; ``categorical_count``: how often each
score occurs, counted by its string form. A function declaring no aggregation has none (``{}``).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..apis.scoring import AggregationFunction
from ..errors import BadRequestError

__all__ = ["aggregate"]

ScoreRows = Sequence[Mapping[str, Any]]


def _scores(rows: ScoreRows) -> list[float]:
    try:
        return [float(r["score"]) for r in rows if r.get("score") is not None]
    except (TypeError, ValueError) as exc:
        raise BadRequestError(f"a numeric aggregation needs numeric scores: {exc}") from None


def _accuracy(rows: ScoreRows) -> dict[str, Any]:
    correct = sum(_scores(rows))
    return {"accuracy": correct / len(rows) if rows else 0.0, "num_correct": correct, "num_total": len(rows)}


def _average(rows: ScoreRows) -> dict[str, Any]:
    scores = _scores(rows)
    return {"average": sum(scores) / len(scores) if scores else 0.0}


def _weighted_average(rows: ScoreRows) -> dict[str, Any]:
    scored = [r for r in rows if r.get("score") is not None]
    weights = sum(float(r.get("weight", 1.0)) for r in scored)
    total = sum(float(r["score"]) * float(r.get("weight", 1.0)) for r in scored)
    return {"weighted_average": total / weights if weights else 0.0}


def _median(rows: ScoreRows) -> dict[str, Any]:
    scores = _scores(rows)
    return {"median": statistics.median(scores) if scores else 0.0}


def _categorical_count(rows: ScoreRows) -> dict[str, Any]:
    return {"categorical_count": dict(Counter(str(r.get("score")) for r in rows))}


_AGGREGATIONS: dict[str, Callable[[ScoreRows], dict[str, Any]]] = {
    "accuracy": _accuracy,
    "average": _average,
    "weighted_average": _weighted_average,
    "median": _median,
    "categorical_count": _categorical_count,
}


def aggregate(rows: ScoreRows, functions: Sequence[AggregationFunction]) -> dict[str, Any]:
    """The aggregates ``functions`` name, merged into one dict."""
    result: dict[str, Any] = {}
    for name in functions:
        result.update(_AGGREGATIONS[name](rows))
    return result
