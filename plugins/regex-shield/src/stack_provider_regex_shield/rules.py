"""The rule engine: rules compiled once at start, and cheap substring checks before any regex.

Python's ``re`` scans at some tens of nanoseconds per character and rule, so a rule only runs its
regex when one of its *needles* occurs in the text (``str`` substring search is memchr-fast): the
first word of each keyword, ``@`` for emails, an ASCII digit for numbers. Keywords match whole
words and phrases, case-insensitively by comparing lowercased text. ``pattern`` rules have no
needles: each scans the whole text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .config import PiiKind, Rule

DIGITS = tuple("0123456789")
# Patterns start with a literal where they can ('@', '-'): sre then skips ahead at memchr speed.
PII: dict[PiiKind, tuple[str, tuple[str, ...]]] = {
    "email": (r"@(?<=[A-Za-z0-9._%+-]@)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b", ("@",)),
    "phone": (
        r"(?<![\w+])(?<![0-9][ .-])(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{2,4}\)[ .-]?|[0-9]{2,4}[ .-])"
        r"[0-9]{3,4}[ .-][0-9]{4}(?![ .-]?[0-9])(?!\w)",
        DIGITS,
    ),
    "credit_card": (r"(?<![0-9-])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])", DIGITS),
    "us_ssn": (
        r"-(?<=(?<![0-9-])(?!000|666|9[0-9][0-9])[0-9]{3}-)(?!00)[0-9]{2}-(?!0000)[0-9]{4}(?![0-9-])",
        ("-",),
    ),
}
LEVELS = {"info": 0, "warn": 1, "error": 2}


def luhn(candidate: str) -> bool:
    """True for a 13-19 digit number passing the Luhn checksum (separators ignored)."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


CHECKS: dict[PiiKind, Callable[[str], bool]] = {"credit_card": luhn}


@dataclass(frozen=True, eq=False)
class CompiledRule:
    rule: Rule
    regex: re.Pattern[str]
    needles: tuple[str, ...] = ()  # the regex can only match if one of these occurs
    lowered: bool = False  # match against the lowercased text
    check: Callable[[str], bool] | None = None  # validates each regex match (Luhn)

    def matches(self, text: str, lowered: str) -> bool:
        subject = lowered if self.lowered else text
        for needle in self.needles:
            if needle in subject:
                break
        else:
            if self.needles:
                return False
        if self.check is None:
            return self.regex.search(subject) is not None
        return any(self.check(m.group()) for m in self.regex.finditer(subject))


def compile_rule(rule: Rule) -> CompiledRule:
    if rule.pii is not None:
        pattern, needles = PII[rule.pii]
        return CompiledRule(rule, re.compile(pattern), needles, check=CHECKS.get(rule.pii))
    if rule.keywords:
        lowered = not rule.case_sensitive
        words = [(k.lower() if lowered else k).split() for k in rule.keywords]
        phrases = sorted({r"\s+".join(map(re.escape, w)) for w in words if w}, key=len, reverse=True)
        regex = re.compile(rf"(?<!\w)(?:{'|'.join(phrases)})(?!\w)")
        return CompiledRule(rule, regex, tuple(dict.fromkeys(w[0] for w in words if w)), lowered)
    assert rule.pattern is not None
    return CompiledRule(rule, re.compile(rule.pattern, 0 if rule.case_sensitive else re.IGNORECASE))


class RuleEngine:
    """Rule sets compiled once; ``rules(names)`` picks (and caches) a shield's selection."""

    def __init__(self, rule_sets: Mapping[str, Sequence[Rule]]) -> None:
        self.sets = {name: tuple(compile_rule(r) for r in rules) for name, rules in rule_sets.items()}
        self._selections: dict[tuple[str, ...] | None, tuple[CompiledRule, ...]] = {}

    def unknown(self, names: Iterable[str]) -> list[str]:
        return sorted(set(names) - set(self.sets))

    def rules(self, names: Sequence[str] | None = None) -> tuple[CompiledRule, ...]:
        """The rules of the named sets (all sets when None), in order."""
        key = tuple(names) if names is not None else None
        found = self._selections.get(key)
        if found is None:
            chosen = self.sets if key is None else {n: self.sets[n] for n in key}
            found = self._selections[key] = tuple(r for rs in chosen.values() for r in rs)
        return found

    @staticmethod
    def scan(texts: Iterable[str], rules: Sequence[CompiledRule]) -> list[Rule]:
        """The rules matching any of the texts, in rule order."""
        pairs = [(t, t.lower()) for t in texts if t]
        return [r.rule for r in rules if any(r.matches(t, low) for t, low in pairs)]


def most_severe(hits: Sequence[Rule]) -> Rule:
    return max(hits, key=lambda r: LEVELS[r.level])
