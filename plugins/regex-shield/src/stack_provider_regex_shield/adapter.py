"""``inline::regex``: offline shields from regex, keyword and PII rules; no model involved.

A shield applies the rule sets named in ``params.rule_sets`` (all rule sets when absent). A match
at level ``error`` blocks, ``warn`` flags, ``info`` is only reported; run-shield answers with the
most severe match and lists every rule that matched (never the matched text). System messages are
not scanned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stack_core import (
    BadRequestError,
    ModerationRequest,
    ModerationResponse,
    ProviderContext,
    RunShieldRequest,
    RunShieldResponse,
    SafetyViolation,
    Shield,
    content_text,
    moderation_id,
    moderation_result,
)

from .config import RegexShieldConfig, Rule
from .rules import CompiledRule, RuleEngine, most_severe


def _matches(hits: Sequence[Rule]) -> list[dict[str, Any]]:
    return [{"rule": r.name, "category": r.category, "level": r.level} for r in hits]


class RegexShieldProvider:
    """The Safety protocol over a ``RuleEngine``."""

    def __init__(self, config: RegexShieldConfig, context: ProviderContext) -> None:
        self.config, self.context = config, context
        self.engine = RuleEngine(config.all_rule_sets())

    async def list_shields(self) -> list[Shield]:
        return [
            Shield(
                identifier=entry.shield_id,
                provider_id=self.context.provider_id,
                params={"rule_sets": entry.rule_sets} if entry.rule_sets is not None else None,
            )
            for entry in self.config.shields
        ]

    async def register_shield(self, shield: Shield) -> Shield:
        """Accept a shield whose ``params.rule_sets`` name known rule sets."""
        self._rule_sets(shield.params or {}, shield.identifier)
        return shield

    def _rule_sets(self, params: dict[str, Any], identifier: str) -> list[str] | None:
        extra = sorted(set(params) - {"rule_sets"})
        names = params.get("rule_sets")
        known = ", ".join(self.engine.sets)
        if extra or not (
            names is None or (isinstance(names, list) and all(isinstance(n, str) for n in names))
        ):
            raise BadRequestError(
                f"Shield '{identifier}': regex shields take one param, rule_sets (a list of: {known}).",
                param="params",
            )
        unknown = self.engine.unknown(names or ())
        if unknown:
            raise BadRequestError(
                f"Shield '{identifier}': unknown rule sets {unknown}; this provider has: {known}.",
                param="params",
            )
        return names

    def _rules(self, identifier: str) -> tuple[CompiledRule, ...]:
        shield = self.context.resources.get("shield", identifier)
        params = (shield.params if isinstance(shield, Shield) else None) or {}
        return self.engine.rules(self._rule_sets(params, identifier))

    async def run_shield(self, request: RunShieldRequest) -> RunShieldResponse:
        rules = self._rules(request.shield_identifier)
        texts = (content_text(m.get("content")) for m in request.messages if m.get("role") != "system")
        hits = self.engine.scan(texts, rules)
        if not hits:
            return RunShieldResponse(violation=None)
        top = most_severe(hits)
        return RunShieldResponse(
            violation=SafetyViolation(
                violation_level=top.level,
                user_message=top.message or self.config.user_message,
                metadata={"violation_type": top.category, "rule": top.name, "matches": _matches(hits)},
            )
        )

    async def run_moderation(self, request: ModerationRequest) -> ModerationResponse:
        rules = self._rules(request.shield_identifier)
        known = [r.rule.category for r in rules]
        results = []
        for text in request.texts():
            hits = self.engine.scan([text], rules)
            flagged = [r for r in hits if r.level != "info"]
            message = (most_severe(flagged).message or self.config.user_message) if flagged else None
            results.append(
                moderation_result(
                    [r.category for r in flagged],
                    known=known,
                    user_message=message,
                    metadata={"matches": _matches(hits)} if hits else None,
                )
            )
        return ModerationResponse(id=moderation_id(), model=request.shield_identifier, results=results)


def create_provider(config: RegexShieldConfig, context: ProviderContext) -> RegexShieldProvider:
    return RegexShieldProvider(config, context)
