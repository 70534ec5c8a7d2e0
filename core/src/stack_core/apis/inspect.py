"""Inspection APIs: health, version, routes and providers (shapes of the 0.2 reference line)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..spec import ApiModel, ApiSpec, Route

__all__ = ["INSPECT_API", "PROVIDERS_API"]


class HealthInfo(ApiModel):
    status: Literal["OK", "Error", "Not Implemented"]


class ReadinessInfo(ApiModel):
    status: Literal["OK", "Unavailable"]
    providers: dict[str, str] = Field(description="Each provider's health status, by provider id.")


class VersionInfo(ApiModel):
    version: str


class RouteInfo(ApiModel):
    route: str
    method: str
    provider_types: list[str]


class ListRoutesResponse(ApiModel):
    data: list[RouteInfo]


class ProviderInfo(ApiModel):
    api: str
    provider_id: str
    provider_type: str
    config: dict[str, Any] = Field(description="The provider's config, secrets redacted.")
    health: dict[str, Any]


class ListProvidersResponse(ApiModel):
    data: list[ProviderInfo]


class ProviderIdRequest(ApiModel):
    provider_id: str


INSPECT_API = ApiSpec(
    name="inspect",
    description="Server health, version and the routes it serves.",
    provider_required=False,
    routes=(
        Route("GET", "/v1/health", "health", response=HealthInfo, summary="Server health (liveness)."),
        Route(
            "GET",
            "/v1/health/ready",
            "ready",
            response=ReadinessInfo,
            summary="Readiness: 503 while a served API has no healthy provider.",
        ),
        Route("GET", "/v1/version", "version", response=VersionInfo, summary="Server version."),
        Route("GET", "/v1/inspect/routes", "routes", response=ListRoutesResponse, summary="Served routes."),
    ),
)

PROVIDERS_API = ApiSpec(
    name="providers",
    description="Configured provider instances, their (redacted) config and health.",
    provider_required=False,
    routes=(
        Route("GET", "/v1/providers", "list", response=ListProvidersResponse, summary="List providers."),
        Route(
            "GET",
            "/v1/providers/{provider_id}",
            "get",
            ProviderIdRequest,
            ProviderInfo,
            summary="Get one provider.",
        ),
    ),
)
