"""The run config: YAML → env substitution → validated ``RunConfig``.

Validation errors name the YAML path (``providers.inference[0].config.url``) and say what is
expected. Entries whose fields resolve to ``__disabled__`` are dropped before validation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, model_validator

from .envsubst import Substitution, is_disabled, substitute, where
from .errors import ConfigError
from .redact import redact_urls, url_userinfo

__all__ = [
    "METRICS_PATH",
    "AuthConfig",
    "ConfigModel",
    "ProviderEntry",
    "QuotaConfig",
    "RemoteInferenceConfig",
    "RunConfig",
    "ServerConfig",
    "StoreConfig",
    "TelemetryConfig",
    "load_config",
    "stack_home",
    "validate_model",
]

M = TypeVar("M", bound=BaseModel)
RESOURCE_KEYS = ("models", "shields", "vector_dbs", "datasets", "scoring_fns", "benchmarks", "tool_groups")


def stack_home() -> Path:
    """Where Stack keeps state by default: ``$STACK_HOME`` or ``~/.stack``."""
    return Path(os.environ.get("STACK_HOME") or Path.home() / ".stack").expanduser()


class ConfigModel(BaseModel):
    """Base of every config block (the run config's, providers' and auth providers'): unknown keys
    are errors, and validators are built on first use, so the providers a stack does not configure
    cost it no memory."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class StoreConfig(ConfigModel):
    """A SQL store: SQLite file (default), Postgres by fields, or any SQLAlchemy URL."""

    type: Literal["sqlite", "postgres", "sql"] = "sqlite"
    db_path: str | None = Field(default=None, description="SQLite file; default under the state dir.")
    namespace: str | None = Field(default=None, description="Table-name prefix.")
    url: SecretStr | None = Field(default=None, description="Any async SQLAlchemy URL (type: sql).")
    host: str = "localhost"
    port: int = 5432
    db: str = "stack"
    user: str = "postgres"
    password: SecretStr | None = None
    pool_size: int = 5


class RemoteInferenceConfig(ConfigModel):
    """Config shared by every OpenAI-compatible remote inference provider."""

    url: str = Field(description="Base URL of the OpenAI-compatible API, e.g. http://host:8000/v1")
    api_key: SecretStr | None = Field(default=None, description="Bearer token sent upstream.")
    timeout: float = Field(default=60.0, description="Seconds to wait for a reply (or between chunks).")
    connect_timeout: float = Field(default=5.0, description="Seconds to wait for a connection.")
    max_retries: int = Field(default=2, description="Retries when the backend is unreachable or busy.")
    refresh_models: bool = Field(default=False, description="Re-list the backend's models periodically.")
    refresh_interval: float = Field(default=300.0, description="Seconds between model refreshes.")
    provider_data_key: str | None = Field(
        default=None,
        description="Key in the X-Stack-Provider-Data header holding a per-request API key.",
    )
    max_retry_after: float = Field(
        default=2.0,
        ge=0,
        description="Longest Retry-After (seconds) of a 429/503 that is waited out and retried; a longer one "
        "is passed to the client with its Retry-After.",
    )

    @model_validator(mode="after")
    def _one_credential(self) -> RemoteInferenceConfig:
        keyed = self.api_key is not None and bool(self.api_key.get_secret_value())
        if url_userinfo(self.url) and (keyed or self.provider_data_key):
            raise ValueError(
                "url carries credentials (user:password@) and api_key or provider_data_key is set too; "
                "the backend would get two Authorization headers. Keep one: remove the credentials from "
                "the url, or drop api_key and provider_data_key."
            )
        return self


class ProviderEntry(ConfigModel):
    provider_id: str = Field(description="Free-form name of this provider instance.")
    provider_type: str = Field(description="e.g. remote::vllm or inline::sentence-transformers")
    config: dict[str, Any] = Field(default_factory=dict)


class AuthConfig(ConfigModel):
    provider_config: dict[str, Any] = Field(description="Auth provider config; its `type` selects it.")
    access_policy: list[dict[str, Any]] = Field(default_factory=list)


class QuotaConfig(ConfigModel):
    kvstore: StoreConfig
    anonymous_max_requests: int = 100
    authenticated_max_requests: int = 1000
    period: Literal["minute", "hour", "day"] = "day"


class ServerConfig(ConfigModel):
    host: str = "127.0.0.1"
    port: int = 8321
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    tls_cafile: str | None = None
    workers: int = 1
    keep_alive_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds an idle client connection is kept open. Behind a load balancer, set it above "
        "the balancer's idle timeout. Hypercorn also holds a connection the client closed until this "
        "passes, so a long one keeps many closed sockets open under connection churn.",
    )
    max_request_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1,
        description="Largest request body; larger ones get 413 before they are read (uploads excepted).",
    )
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1,
        description="Largest multipart (file upload) body; uploads are spooled to disk, not held in memory.",
    )
    body_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a client has to send a whole request body (408 after), so that slow senders "
        "cannot hold connections.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Requests served at once; more get 503. Keep it below the process's file limit.",
    )
    max_connections_per_client: int = Field(
        default=100,
        ge=0,
        description="Requests served at once per client address (0: no per-client cap); more get 503. "
        "Behind a load balancer every client has its address: raise it or set 0.",
    )
    auth: AuthConfig | None = None
    quota: QuotaConfig | None = None


METRICS_PATH = "/metrics"
"""Where the telemetry plugin serves Prometheus metrics; ``telemetry.metrics_public`` opens it."""


class TelemetryConfig(ConfigModel):
    """How the server observes itself. Spans and metrics are recorded by the telemetry plugin
    (``stack-provider-telemetry``) when it is installed; where spans go is the ``telemetry`` API's
    providers (``inline::sqlite`` stores and answers queries, ``remote::otlp`` exports). The
    OpenTelemetry SDK's own ``OTEL_*`` variables apply (``OTEL_SERVICE_NAME``,
    ``OTEL_TRACES_SAMPLER_ARG``, ``OTEL_EXPORTER_OTLP_*``, ...)."""

    enabled: bool = Field(default=True, description="Record spans and metrics (with the telemetry plugin).")
    service_name: str | None = Field(
        default=None, description="service.name of spans and metrics; default $OTEL_SERVICE_NAME or `stack`."
    )
    sampling_ratio: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Share of new traces recorded (a caller's sampled traceparent is always followed); "
        "default: the SDK's, from OTEL_TRACES_SAMPLER(_ARG), else 1.0.",
    )
    capture_content: bool = Field(
        default=False,
        description="Record prompts and replies on GenAI spans (gen_ai.input.messages / output.messages).",
    )
    metrics_public: bool = Field(default=False, description="Serve GET /metrics without authentication.")
    log_format: Literal["text", "json"] = Field(
        default_factory=lambda: (
            "json" if os.environ.get("STACK_LOG_FORMAT", "").lower() == "json" else "text"
        ),
        description="`json`: every log record is one JSON object, and the access log (one line per "
        "request) is on. Default $STACK_LOG_FORMAT or text.",
    )
    log_levels: dict[str, str] = Field(
        default_factory=dict,
        description="Level per logger, e.g. {stack.access: INFO, stack_core.stack: DEBUG}; the root "
        "level is $STACK_LOG_LEVEL.",
    )


class RegisteredResources(BaseModel):
    """Resources declared in config; plugin APIs' kinds go here under their ``config_key``."""

    model_config = ConfigDict(extra="allow")

    models: list[dict[str, Any]] = Field(default_factory=list)
    shields: list[dict[str, Any]] = Field(default_factory=list)
    vector_dbs: list[dict[str, Any]] = Field(default_factory=list)
    datasets: list[dict[str, Any]] = Field(default_factory=list)
    scoring_fns: list[dict[str, Any]] = Field(default_factory=list)
    benchmarks: list[dict[str, Any]] = Field(default_factory=list)
    tool_groups: list[dict[str, Any]] = Field(default_factory=list)


class RunConfig(ConfigModel):
    version: int | str = 2
    image_name: str | None = None
    conda_env: str | None = None
    container_image: str | None = None
    apis: list[str] = Field(default_factory=list)
    providers: dict[str, list[ProviderEntry]] = Field(default_factory=dict)
    metadata_store: StoreConfig | None = None
    models: list[dict[str, Any]] = Field(default_factory=list)
    shields: list[dict[str, Any]] = Field(default_factory=list)
    vector_dbs: list[dict[str, Any]] = Field(default_factory=list)
    datasets: list[dict[str, Any]] = Field(default_factory=list)
    scoring_fns: list[dict[str, Any]] = Field(default_factory=list)
    benchmarks: list[dict[str, Any]] = Field(default_factory=list)
    tool_groups: list[dict[str, Any]] = Field(default_factory=list)
    registered_resources: RegisteredResources = Field(default_factory=RegisteredResources)
    server: ServerConfig = Field(default_factory=ServerConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    _source: str | None = PrivateAttr(default=None)
    _raw_text: dict[tuple[str | int, ...], str] = PrivateAttr(default_factory=dict)

    @property
    def source(self) -> str | None:
        """The file this config was read from, if any."""
        return self._source

    @property
    def raw_text(self) -> dict[tuple[str | int, ...], str]:
        """Original text of env-substituted values that were typed (see ``validate_model``)."""
        return self._raw_text

    def resources(self, key: str) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
        """Entries for a resource list from both places, each with its YAML path."""
        top = [((key, i), e) for i, e in enumerate(getattr(self, key, []))]
        nested = getattr(self.registered_resources, key, None) or []
        if not isinstance(nested, list) or not all(isinstance(e, dict) for e in nested):
            raise ConfigError(f"registered_resources.{key} must be a list of mappings")
        return top + [(("registered_resources", key, i), e) for i, e in enumerate(nested)]


def _describe(error: Mapping[str, Any], prefix: tuple[str | int, ...]) -> str:
    path = where((*prefix, *error["loc"]))
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message = "unknown field; remove it or check its spelling"
    elif error["type"] != "missing" and "input" in error:
        message += f" (got {error['input']!r})"
    return redact_urls(f"  {path}: {message}")


def validate_model(
    model: type[M],
    data: Any,
    *,
    what: str,
    prefix: tuple[str | int, ...] = (),
    raw_text: Mapping[tuple[str | int, ...], str] | None = None,
) -> M:
    """Validate ``data`` against ``model``, or raise ``ConfigError`` listing each bad YAML path.

    A value typed by env substitution (``"12345"`` → 12345) goes back to its text where the field
    wants a string.
    """
    raw = raw_text or {}
    for _ in range(3):
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            retyped = False
            for err in errors:
                full = (*prefix, *err["loc"])
                if err["type"] == "string_type" and full in raw:
                    data = _set(data, err["loc"], raw[full])
                    retyped = True
            if not retyped:
                lines = "\n".join(_describe(e, prefix) for e in errors)
                raise ConfigError(f"{what} is invalid:\n{lines}") from None
    return model.model_validate(data)


def _set(data: Any, loc: tuple[str | int, ...], value: Any) -> Any:
    if not loc:
        return value
    head, rest = loc[0], loc[1:]
    if isinstance(data, list) and isinstance(head, int):
        copy = list(data)
        copy[head] = _set(copy[head], rest, value)
        return copy
    if isinstance(data, Mapping):
        return {**data, head: _set(data[head], rest, value)}
    return data


def _provider_disabled(entry: Any) -> bool:
    """``__disabled__`` anywhere at the top, or a provider_id that resolved to None
    (``provider_id: ${env.VLLM_URL:+vllm}`` with VLLM_URL unset)."""
    return is_disabled(entry) or (
        isinstance(entry, dict) and "provider_id" in entry and entry["provider_id"] is None
    )


def _drop_disabled(tree: dict[str, Any]) -> dict[str, Any]:
    providers = tree.get("providers")
    if isinstance(providers, dict):
        tree["providers"] = {
            api: [p for p in entries if not _provider_disabled(p)] if isinstance(entries, list) else entries
            for api, entries in providers.items()
        }
    for holder in (tree, tree.get("registered_resources")):
        if isinstance(holder, dict):
            for key in RESOURCE_KEYS:
                if isinstance(holder.get(key), list):
                    holder[key] = [e for e in holder[key] if not is_disabled(e)]
    return tree


def parse_config(tree: Any, env: Mapping[str, str], source: str | None = None) -> RunConfig:
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise ConfigError(f"run config {source or ''} must be a YAML mapping, got {type(tree).__name__}")
    subst: Substitution = substitute(tree, env)
    data = _drop_disabled(subst.value)
    config = validate_model(
        RunConfig, data, what=f"run config {source or ''}".strip(), raw_text=subst.raw_text
    )
    config._source = source
    config._raw_text = subst.raw_text
    return config


def load_config(
    source: str | Path | Mapping[str, Any] | RunConfig,
    env: Mapping[str, str] | None = None,
) -> RunConfig:
    """Read a run config from a file path, YAML text, a mapping or an existing ``RunConfig``."""
    if isinstance(source, RunConfig):
        return source
    env = os.environ if env is None else env
    if isinstance(source, Mapping):
        return parse_config(dict(source), env)
    path = Path(source).expanduser()
    if isinstance(source, str) and "\n" in source:
        text, name = source, None
    else:
        if not path.is_file():
            raise ConfigError(f"run config {str(path)!r} does not exist")
        text, name = path.read_text(), str(path)
    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"run config {name or ''} is not valid YAML: {exc}") from None
    return parse_config(tree, env, name)
