"""``inline::basic`` scoring: equality, subset_of, regex-parsed multiple choice and math answers,
DocVQA."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="scoring",
        provider_type="inline::basic",
        config="stack_provider_scoring_basic.config:BasicScoringConfig",
        factory="stack_provider_scoring_basic.adapter:BasicScoring",
        description="Rule-based scoring functions (basic::equality, basic::subset_of, regex parsers, docvqa).",
    )
