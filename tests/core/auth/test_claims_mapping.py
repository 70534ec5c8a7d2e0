"""Claims → access attributes."""

from __future__ import annotations

from stack_core.auth.common import DEFAULT_CLAIMS_MAPPING, attributes_from_claims


def test_default_mapping() -> None:
    claims = {
        "sub": "alice",
        "groups": ["ml", "ml", "nlp"],
        "namespace": "research",
        "project": "p",
        "x": "y",
    }
    assert attributes_from_claims(claims, DEFAULT_CLAIMS_MAPPING) == {
        "roles": ["alice"],
        "teams": ["ml", "nlp"],
        "projects": ["p"],
        "namespaces": ["research"],
    }


def test_string_claims_split_on_whitespace_and_missing_claims_are_skipped() -> None:
    assert attributes_from_claims({"scope": "read write"}, {"scope": "roles", "absent": "teams"}) == {
        "roles": ["read", "write"]
    }
