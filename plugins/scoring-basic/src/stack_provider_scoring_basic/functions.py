# ruff: noqa: RUF001  (full-width letters and colons are what these regexes match)
"""The basic scoring functions, with the 0.2 reference line's semantics (quirks included).

- ``equality``: 1.0 if ``expected_answer == generated_answer``, no stripping;
- ``subset_of``: 1.0 if ``expected_answer`` is a substring of ``generated_answer`` (case-sensitive);
- ``regex_parser_multiple_choice_answer``: the parsing regexes (by default ``Answer:`` written in 42
  ways, each followed by a letter A-D or its Arabic, Bengali or full-width form) are tried in order;
  the first match's letter, normalized to A-D, is compared with ``expected_answer``. The match is
  case-insensitive and the comparison is not: ``"answer : b"`` scores 0 against ``"B"``;
- ``regex_parser_math_response``: the answer after ``final answer is $\\boxed{...}$``, normalized
  (spaces, ``\\left``/``\\right``, ``\\!``, text units, a trailing period, ``dfrac``/``tfrac``) and
  compared with the normalized expected answer;
- ``docvqa``: ``expected_answer`` is a JSON list of answers; 1.0 if the normalized generated answer
  (lower case, no punctuation or articles, single spaces) equals a normalized one.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping
from typing import Any

from stack_core import BadRequestError

Row = Mapping[str, Any]

_ANSWER_WORDS = [
    r"Answer\s*:",
    r"Answer\s*:​​​​​​",  # with the invisible characters Korean text carries
    r"উত্তর\s*:",
    r"उत्तर\s*:",
    r"উত্তরঃ",
    r"উত্তর\s*:",
    r"Antwort\s*:",
    r"답변\s*:",
    r"정답\s*:",
    r"답\s*:",
    r"答案\s*：",
    r"答案\s*:",
    r"答\s*：",
    r"答\s*:",
    r"答复\s*：",
    r"答曰\s*：",
    r"الإجابة:",
    r"الجواب:",
    r"إجابة:",
    r"الإجابة النهائية:",
    r"الإجابة الصحيحة:",
    r"الإجابة الصحيحة هي:",
    r"الإجابة هي:",
    r"الجواب النهائي:",
    r"Respuesta\s*:",
    r"Risposta\s*:",
    r"答え\s*:",
    r"答え\s*：",
    r"回答\s*:",
    r"回答\s*：",
    r"解答\s*:",
    r"Jawaban\s*:",
    r"Réponse\s*:",
    r"Resposta\s*:",
    r"Jibu\s*:",
    r"Idahun\s*:",
    r"Ìdáhùn\s*:",
    r"Idáhùn\s*:",
    r"Àmọ̀nà\s*:",
    r"Àdáhùn\s*:",
    r"Ànúgọ\s*:",
    r"Àṣàyàn\s*:",
]
MULTIPLE_CHOICE_REGEXES = [
    rf"(?i){word}[ \t]*([A-D]|[أ-د]|[অ]|[ব]|[ড]|[ঢ]|[Ａ]|[Ｂ]|[Ｃ]|[Ｄ])" for word in _ANSWER_WORDS
]
MATH_REGEXES = [r".*final answer is:?\s*\$\\boxed{(?P<X>.*)}\$"]

_LETTERS = {
    "أ": "A", "ب": "B", "ج": "C", "د": "D",  # Arabic
    "অ": "A", "ব": "B", "ড": "C", "ঢ": "D",  # Bengali
    "Ａ": "A", "Ｂ": "B", "Ｃ": "C", "Ｄ": "D",  # full width
}  # fmt: skip


def _field(row: Row, name: str) -> Any:
    if name not in row:
        raise BadRequestError(f"every row needs '{name}' to be scored (row keys: {', '.join(row)}).")
    return row[name]


def equality(row: Row, _: list[str]) -> dict[str, Any]:
    return {"score": 1.0 if _field(row, "expected_answer") == _field(row, "generated_answer") else 0.0}


def subset_of(row: Row, _: list[str]) -> dict[str, Any]:
    expected, generated = str(_field(row, "expected_answer")), str(_field(row, "generated_answer"))
    return {"score": 1.0 if expected in generated else 0.0}


def multiple_choice(row: Row, regexes: list[str]) -> dict[str, Any]:
    generated, expected = str(_field(row, "generated_answer")), _field(row, "expected_answer")
    for regex in regexes:
        match = re.search(regex, generated)
        if match:
            letter = "".join(_LETTERS.get(c, c) for c in match.group(1)).strip()
            return {"score": 1.0 if letter == expected else 0.0}
    return {"score": 0.0}


def _normalize_math(answer: str) -> str:
    answer = answer.strip().rstrip(".")
    answer = re.sub(r"\\text\{\s*[a-zA-Z ]*\}", "", answer)
    for old, new in (
        ("\\left", ""),
        ("\\right", ""),
        ("\\!", ""),
        ("dfrac", "frac"),
        ("tfrac", "frac"),
        (" ", ""),
    ):
        answer = answer.replace(old, new)
    answer = answer.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\$", "").replace("$", "")
    return re.sub(r"(\d),(\d{3})", r"\1\2", answer)


def math_response(row: Row, regexes: list[str]) -> dict[str, Any]:
    generated, expected = str(_field(row, "generated_answer")), str(_field(row, "expected_answer"))
    for regex in regexes:
        match = re.search(regex, generated, re.DOTALL)
        if match:
            found = _normalize_math(match.group(1))
            return {"score": 1.0 if found and found == _normalize_math(expected) else 0.0}
    return {"score": 0.0}


def _normalize_text(text: str) -> str:
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


def docvqa(row: Row, _: list[str]) -> dict[str, Any]:
    raw = _field(row, "expected_answer")
    try:
        expected = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        expected = [raw]
    answers = expected if isinstance(expected, list) else [expected]
    generated = _normalize_text(str(_field(row, "generated_answer")))
    return {"score": 1.0 if generated in {_normalize_text(str(a)) for a in answers} else 0.0}


ScoreRow = Callable[[Row, list[str]], dict[str, Any]]

FUNCTIONS: dict[str, tuple[ScoreRow, str, dict[str, Any]]] = {
    "basic::equality": (equality, "1.0 if the generated answer equals the expected one.", {"type": "basic", "aggregation_functions": ["accuracy"]}),
    "basic::subset_of": (subset_of, "1.0 if the expected answer is contained in the generated one.", {"type": "basic", "aggregation_functions": ["accuracy"]}),
    "basic::regex_parser_multiple_choice_answer": (
        multiple_choice,
        "The multiple-choice letter after 'Answer:' (in 42 languages' forms) against the expected one.",
        {"type": "regex_parser", "parsing_regexes": MULTIPLE_CHOICE_REGEXES, "aggregation_functions": ["accuracy"]},
    ),
    "basic::regex_parser_math_response": (
        math_response,
        "The answer after 'final answer is $\\boxed{...}$', normalized, against the expected one.",
        {"type": "regex_parser", "parsing_regexes": MATH_REGEXES, "aggregation_functions": ["accuracy"]},
    ),
    "basic::docvqa": (docvqa, "DocVQA: the normalized answer among the expected ones (a JSON list).", {"type": "basic", "aggregation_functions": ["accuracy"]}),
}  # fmt: skip
