"""Configs of the two telemetry sinks."""

from __future__ import annotations

from pydantic import Field, SecretStr

from stack_core import ConfigModel

__all__ = ["OtlpTelemetryConfig", "SqliteTelemetryConfig"]


class SqliteTelemetryConfig(ConfigModel):
    db_path: str | None = Field(
        default=None,
        description="A SQLite file of its own for spans and events; default: the stack's database "
        "(metadata_store), so replicas sharing Postgres share their traces.",
    )
    retention_days: float = Field(
        default=7.0, gt=0, description="Spans and metric events older than this go."
    )
    max_spans: int = Field(default=100_000, ge=100, description="Oldest spans beyond this many go.")
    flush_interval: float = Field(default=1.0, gt=0, description="Seconds between batched writes.")
    queue_size: int = Field(
        default=20_000,
        ge=100,
        description="Spans held for the next write; beyond it spans are dropped (counted).",
    )


class OtlpTelemetryConfig(ConfigModel):
    endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP base URL (traces go to {endpoint}/v1/traces); default: the SDK's, from "
        "OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else http://localhost:4318.",
    )
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="Headers sent with every export.")
    timeout: float = Field(default=5.0, gt=0, description="Seconds one export may take, retries included.")
    export_metrics: bool = Field(default=True, description="Export the server's metrics too.")
    metric_interval: float = Field(default=30.0, gt=0, description="Seconds between metric exports.")
    schedule_delay: float = Field(default=1.0, gt=0, description="Seconds between span batches.")
    max_queue_size: int = Field(
        default=8192, ge=64, description="Spans held while the receiver is slow or down."
    )
