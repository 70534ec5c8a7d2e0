"""``inline::llm-as-judge`` scoring: a judge model grades each row."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="scoring",
        provider_type="inline::llm-as-judge",
        config="stack_provider_scoring_llm_as_judge.config:LlmAsJudgeConfig",
        factory="stack_provider_scoring_llm_as_judge.adapter:LlmAsJudgeScoring",
        deps=("inference",),
        description="A judge model scores each row (llm-as-judge::base, llm-as-judge::405b-simpleqa).",
    )
