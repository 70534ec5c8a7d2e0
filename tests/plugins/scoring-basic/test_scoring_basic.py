"""inline::basic's functions keep the 0.2 line's semantics, quirks included, and the aggregations
compute what they declare."""

from __future__ import annotations

from typing import Any

import pytest
from stack_provider_scoring_basic.functions import (
    MATH_REGEXES,
    MULTIPLE_CHOICE_REGEXES,
    docvqa,
    equality,
    math_response,
    multiple_choice,
    subset_of,
)

from stack_core.kits.scoring import aggregate


def row(expected: Any, generated: str) -> dict[str, Any]:
    return {"expected_answer": expected, "generated_answer": generated}


@pytest.mark.parametrize(
    ("expected", "generated", "equal", "subset"),
    [("Paris", "Paris", 1.0, 1.0), ("Paris", "Paris ", 0.0, 1.0), ("paris", "Paris is nice", 0.0, 0.0)],
)
def test_equality_does_not_strip_and_subset_is_case_sensitive(
    expected: str, generated: str, equal: float, subset: float
) -> None:
    assert equality(row(expected, generated), [])["score"] == equal
    assert subset_of(row(expected, generated), [])["score"] == subset


@pytest.mark.parametrize(
    ("generated", "score"),
    [
        ("Let me think.\nAnswer: B", 1.0),
        ("answer : b", 0.0),  # matched case-insensitively, compared case-sensitively
        ("**Answer:** B", 0.0),  # no match
        ("(B)", 0.0),
        ("Réponse: B", 1.0),
        ("答案：Ｂ", 1.0),  # noqa: RUF001 - full-width forms are normalized
        ("الإجابة: ب", 1.0),
    ],
)
def test_multiple_choice_parsing(generated: str, score: float) -> None:
    assert len(MULTIPLE_CHOICE_REGEXES) == 42
    assert multiple_choice(row("B", generated), MULTIPLE_CHOICE_REGEXES)["score"] == score


def test_math_and_docvqa() -> None:
    assert (
        math_response(row("\\frac{1}{2}", "So the final answer is $\\boxed{\\dfrac{1}{2}}$"), MATH_REGEXES)[
            "score"
        ]
        == 1.0
    )
    assert math_response(row("3", "The answer is 3"), MATH_REGEXES)["score"] == 0.0
    assert docvqa(row('["The Paris", "paris, france"]', "Paris, France."), [])["score"] == 1.0
    assert docvqa(row('["London"]', "Paris"), [])["score"] == 0.0


def test_aggregations() -> None:
    rows = [{"score": 1.0, "weight": 3}, {"score": 0.0, "weight": 1}, {"score": None}]
    assert aggregate(rows[:2], ["accuracy", "average", "median", "weighted_average"]) == {
        "accuracy": 0.5,
        "num_correct": 1.0,
        "num_total": 2,
        "average": 0.5,
        "median": 0.5,
        "weighted_average": 0.75,
    }
    assert aggregate(rows, ["categorical_count"]) == {"categorical_count": {"1.0": 1, "0.0": 1, "None": 1}}
    assert aggregate(rows, []) == {}
