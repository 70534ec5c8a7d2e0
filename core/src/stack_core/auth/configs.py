"""Configuration models of the built-in auth providers.

Kept apart from the authenticators so that registering the providers (at plugin discovery) costs
no JWT, crypto or HTTP imports; those load when a provider is actually configured.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from ..config import ConfigModel
from .common import DEFAULT_CLAIMS_MAPPING

__all__ = [
    "ApiKeyAuthConfig",
    "ApiKeyEntry",
    "CustomAuthConfig",
    "GitHubTokenConfig",
    "IntrospectionConfig",
    "JwksConfig",
    "OAuth2TokenConfig",
]


class ApiKeyEntry(ConfigModel):
    key_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$", description="`sha256:` + hex SHA-256 of the key.")
    principal: str = Field(description="Who requests with this key act as.")
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, description="Access attributes (roles, teams, projects, namespaces)."
    )


class JwksConfig(ConfigModel):
    uri: str = Field(description="URL of the JSON Web Key Set holding the token signing keys.")
    token: SecretStr | None = Field(
        default=None, description="Bearer token sent to the JWKS endpoint (e.g. a service-account token)."
    )
    key_recheck_period: float = Field(
        default=3600, description="Seconds after which the keys are fetched again."
    )
    min_refetch_interval: float = Field(
        default=10, description="Least seconds between fetches caused by a token with an unknown kid."
    )


class IntrospectionConfig(ConfigModel):
    url: str = Field(description="RFC 7662 token introspection endpoint.")
    client_id: str = Field(description="Client id this server authenticates to the endpoint with.")
    client_secret: SecretStr = Field(description="Client secret for the endpoint.")
    send_secret_in_body: bool = Field(
        default=False, description="Send client_id/client_secret as form fields instead of HTTP Basic."
    )


class OAuth2TokenConfig(ConfigModel):
    jwks: JwksConfig | None = Field(default=None, description="Verify tokens as JWTs with these keys.")
    introspection: IntrospectionConfig | None = Field(
        default=None, description="Or ask this RFC 7662 endpoint about each token."
    )
    issuer: str | None = Field(default=None, description="Required `iss` (not checked when unset).")
    audience: str | list[str] | None = Field(
        default=None, description="Accepted `aud` value(s) (not checked when unset)."
    )
    claims_mapping: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_CLAIMS_MAPPING),
        description="Token claim → access attribute (roles, teams, projects, namespaces).",
    )
    verify_tls: bool = Field(default=True, description="Verify the endpoints' TLS certificates.")
    tls_cafile: str | None = Field(default=None, description="CA bundle for the endpoints' certificates.")
    leeway: float = Field(default=30, description="Seconds of clock skew allowed on exp/nbf/iat.")
    timeout: float = Field(default=5.0, description="Seconds to wait for the JWKS/introspection endpoint.")
    cache_ttl: float = Field(default=60.0, description="Seconds an active introspection answer is trusted.")

    @model_validator(mode="after")
    def _one_method(self) -> OAuth2TokenConfig:
        if (self.jwks is None) == (self.introspection is None):
            raise ValueError("set exactly one of `jwks` or `introspection`")
        return self


class GitHubTokenConfig(ConfigModel):
    github_api_base_url: str = Field(
        default="https://api.github.com",
        description="GitHub API root (GitHub Enterprise: https://HOST/api/v3).",
    )
    claims_mapping: dict[str, str] = Field(
        default_factory=lambda: {"login": "roles", "orgs": "teams"},
        description="GitHub user field (or `orgs`) → access attribute.",
    )
    cache_ttl: float = Field(default=300.0, description="Seconds a validated token is trusted (0: never).")
    timeout: float = Field(default=5.0, description="Seconds to wait for the GitHub API.")
    verify_tls: bool = Field(default=True, description="Verify the endpoint's TLS certificate.")
    tls_cafile: str | None = Field(default=None, description="CA bundle for the endpoint's certificate.")


class CustomAuthConfig(ConfigModel):
    endpoint: str = Field(description="URL that validates tokens.")
    timeout: float = Field(default=5.0, description="Seconds to wait for the endpoint.")
    cache_ttl: float = Field(default=60.0, description="Seconds a validated token is trusted (0: never).")
    verify_tls: bool = Field(default=True, description="Verify the endpoint's TLS certificate.")
    tls_cafile: str | None = Field(default=None, description="CA bundle for the endpoint's certificate.")


class ApiKeyAuthConfig(ConfigModel):
    keys: list[ApiKeyEntry] = Field(default_factory=list, description="Keys held in the config, hashed.")
    database: bool = Field(
        default=True, description="Also accept the keys `stack keys` manages in the stack's SQL database."
    )
    cache_ttl: float = Field(
        default=0.0, description="Seconds a database key stays trusted after a lookup (revocation delay)."
    )
