"""Stack telemetry: OpenTelemetry traces following the GenAI conventions, Prometheus ``/metrics``,
and the Telemetry API's sinks (``inline::sqlite`` stores and answers queries, ``remote::otlp``
exports).

Installed, every stack (unless ``telemetry.enabled: false``) gets a server span per request, a
GenAI client span per provider call and the metrics at ``GET /metrics``; spans go to the
``telemetry`` API's providers. This module imports nothing heavy: the SDK loads when a stack
starts with telemetry on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from typing import Any

from stack_core import (
    METRICS_PATH,
    ApiSpec,
    ProviderCall,
    RegisterApi,
    RegisterMiddleware,
    RegisterProvider,
    Route,
    hookimpl,
)

from .state import ACTIVE, TelemetryMiddleware


class MetricsService:
    """``GET /metrics``: the stack's metrics in Prometheus text. Building it (at stack start, after
    the telemetry providers) builds the stack's telemetry runtime."""

    def __init__(self, stack: Any) -> None:
        from .runtime import build

        self.runtime = build(stack)

    async def metrics(self) -> Any:
        from starlette.responses import Response

        from stack_core import NotFoundError

        from .metrics import exposition

        if self.runtime is None:
            raise NotFoundError("Metrics are off (telemetry.enabled is false).")
        body, media_type = exposition(self.runtime.instruments)
        return Response(body, media_type=media_type)


METRICS_API = ApiSpec(
    name="metrics",
    description="The server's metrics in Prometheus text (auth applies unless telemetry.metrics_public).",
    provider_required=False,
    kernel=MetricsService,
    routes=(Route("GET", METRICS_PATH, "metrics", summary="Prometheus metrics."),),
)


@hookimpl
def stack_register_apis(register: RegisterApi) -> None:
    register(METRICS_API)


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="telemetry",
        provider_type="inline::sqlite",
        config="stack_provider_telemetry.config:SqliteTelemetryConfig",
        factory="stack_provider_telemetry.sqlite:create_provider",
        optional_deps=("datasetio",),
        description="Stores the server's spans and events in SQL and answers the Telemetry API.",
    )
    register(
        api="telemetry",
        provider_type="remote::otlp",
        config="stack_provider_telemetry.config:OtlpTelemetryConfig",
        factory="stack_provider_telemetry.otlp:create_provider",
        sample_config={"endpoint": "${env.OTEL_EXPORTER_OTLP_ENDPOINT}"},
        enable_env="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="Exports spans and metrics over OTLP/HTTP; answers no queries.",
    )


@hookimpl
def stack_register_middleware(register: RegisterMiddleware) -> None:
    register(name="telemetry", factory=TelemetryMiddleware, order=0)


@hookimpl(wrapper=True)
def stack_provider_call(call: ProviderCall) -> Generator[None, Awaitable[Any], Awaitable[Any]]:
    """Each provider call under a GenAI client span, while a request of a traced stack runs."""
    awaitable = yield
    request = ACTIVE.get()
    if request is None:
        return awaitable
    from .genai import traced

    return traced(request, call, awaitable)
