"""``inline::meta-reference`` Eval: benchmarks answered by a candidate model (or agent, with an
agents provider) and scored, as durable jobs."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="eval",
        provider_type="inline::meta-reference",
        config="stack_provider_eval.config:EvalConfig",
        factory="stack_provider_eval.adapter:create_provider",
        deps=("inference", "datasetio", "scoring"),
        optional_deps=("agents",),
        description="Benchmarks run as durable jobs: bounded-concurrency generation, resumable, cancellable.",
    )
