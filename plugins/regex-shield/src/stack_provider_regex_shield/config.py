"""Configuration of the regex shield: rules grouped in named rule sets, and the shields it serves."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from stack_core import ConfigModel

Level = Literal["info", "warn", "error"]
PiiKind = Literal["email", "phone", "credit_card", "us_ssn"]


class Rule(ConfigModel):
    """One check: a regular expression, a keyword list or a built-in PII detector."""

    name: str = Field(description="Rule name, reported in violation metadata.")
    category: str = Field(description="Category reported on a match (a moderation category key).")
    level: Level = Field(default="error", description="info: report only; warn: flag; error: block.")
    message: str | None = Field(default=None, description="End-user message; default user_message.")
    pattern: str | None = Field(default=None, description="A regular expression (Python syntax).")
    keywords: list[str] = Field(default_factory=list, description="Words or phrases, matched whole.")
    pii: PiiKind | None = Field(
        default=None, description="Built-in detector: email, phone, credit_card (Luhn-checked), us_ssn."
    )
    case_sensitive: bool = Field(default=False, description="Match pattern / keywords case-sensitively.")

    @model_validator(mode="after")
    def _one_matcher(self) -> Rule:
        given = [k for k in ("pattern", "keywords", "pii") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"rule '{self.name}' needs exactly one of pattern, keywords, pii (got {given})")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"rule '{self.name}': invalid pattern: {exc}") from None
        return self


class ShieldEntry(ConfigModel):
    """A shield this provider lists at start (registered automatically)."""

    shield_id: str = Field(description="Shield id the shield is registered under.")
    rule_sets: list[str] | None = Field(default=None, description="Rule sets it applies; None: all.")


def builtin_rule_sets() -> dict[str, list[Rule]]:
    """``pii`` (email, phone: warn; card numbers, US SSNs: error) and ``harm`` (threats, weapons,
    self-harm phrases). Deliberately small: extend or replace them in ``rule_sets``."""
    return {
        "pii": [
            Rule(name="email", pii="email", category="pii/email", level="warn"),
            Rule(name="phone", pii="phone", category="pii/phone", level="warn"),
            Rule(
                name="credit-card",
                pii="credit_card",
                category="pii/credit_card",
                message="Please don't share payment card numbers.",
            ),
            Rule(
                name="us-ssn",
                pii="us_ssn",
                category="pii/us_ssn",
                message="Please don't share social security numbers.",
            ),
        ],
        "harm": [
            Rule(
                name="violent-threat",
                category="violence",
                keywords=_phrases(
                    "kill murder stab shoot strangle",
                    "you|him|her|them|someone|somebody|people|everyone|a person",
                ),
            ),
            Rule(
                name="weapons",
                category="illicit/violent",
                keywords=_phrases(
                    "make build assemble construct",
                    "a bomb|bombs|a pipe bomb|pipe bombs|an explosive|explosives|a molotov|nerve agent",
                ),
            ),
            Rule(
                name="self-harm",
                category="self-harm",
                keywords=["kill myself", "end my life", "want to die"],
            ),
        ],
    }


def _phrases(verbs: str, objects: str) -> list[str]:
    return [f"{verb} {obj}" for verb in verbs.split() for obj in objects.split("|")]


class RegexShieldConfig(ConfigModel):
    rule_sets: dict[str, list[Rule]] = Field(
        default_factory=dict, description="Named rule sets, added to (or replacing) the built-in ones."
    )
    builtin_rule_sets: bool = Field(default=True, description="Offer the built-in pii and harm sets.")
    shields: list[ShieldEntry] = Field(
        default_factory=lambda: [ShieldEntry(shield_id="regex-guard")],
        description="Shields served out of the box; more can be registered with params.rule_sets.",
    )
    user_message: str = Field(
        default="Sorry, I can't help with that request.", description="Default end-user message."
    )

    def all_rule_sets(self) -> dict[str, list[Rule]]:
        return {**(builtin_rule_sets() if self.builtin_rule_sets else {}), **self.rule_sets}

    @model_validator(mode="after")
    def _known_sets(self) -> RegexShieldConfig:
        known = self.all_rule_sets()
        for entry in self.shields:
            unknown = sorted(set(entry.rule_sets or ()) - set(known))
            if unknown:
                raise ValueError(
                    f"shield '{entry.shield_id}' names unknown rule sets {unknown}; known: {sorted(known)}"
                )
        return self
