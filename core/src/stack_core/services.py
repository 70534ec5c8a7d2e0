"""Kernel-served APIs: inspect (health, readiness, version, routes) and providers."""

from __future__ import annotations

import asyncio
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

from .apis.inspect import ProviderIdRequest
from .errors import NotFoundError
from .redact import redact

if TYPE_CHECKING:
    from .view import ProviderInstance, StackView

__all__ = ["InspectService", "ProvidersService", "stack_version"]

HEALTH_TIMEOUT_S = 2.0
HEALTHY = ("OK", "Not Implemented")


def stack_version() -> str:
    try:
        return version("stack-core")
    except PackageNotFoundError:
        return "0.0.0+unknown"


class InspectService:
    def __init__(self, view: StackView) -> None:
        self.view = view

    async def health(self) -> dict[str, str]:
        return {"status": "OK"}

    async def ready(self) -> Response:
        """200 when every provider-served API has a provider whose health check passes (or that
        has none), else 503; with each provider's status (no messages: the route is public)."""
        instances = self.view.instances()
        health = await asyncio.gather(*(provider_health(i) for i in instances))
        statuses = {i.provider_id: str(h.get("status")) for i, h in zip(instances, health, strict=True)}
        up: dict[str, bool] = {}
        for instance in instances:
            up[instance.api] = up.get(instance.api, False) or statuses[instance.provider_id] in HEALTHY
        ready = all(up.values())
        body = {"status": "OK" if ready else "Unavailable", "providers": statuses}
        return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type="application/json")

    async def version(self) -> dict[str, str]:
        return {"version": stack_version()}

    async def routes(self) -> dict[str, Any]:
        data = []
        for spec in self.view.served_apis():
            types = sorted({p.provider_type for p in self.view.instances(spec.name)})
            for route in spec.routes:
                for path in route.paths:
                    path = path.replace(":path}", "}")
                    data.append({"route": path, "method": route.method, "provider_types": types})
        return {"data": data}


async def provider_health(instance: ProviderInstance) -> dict[str, Any]:
    check = instance.capabilities.health
    if check is None:
        return {"status": "Not Implemented"}
    try:
        result = await asyncio.wait_for(check(), HEALTH_TIMEOUT_S)
    except TimeoutError:
        return {"status": "Error", "message": f"health check timed out after {HEALTH_TIMEOUT_S}s"}
    except Exception as exc:
        return {"status": "Error", "message": f"{type(exc).__name__}: {exc}"}
    return dict(result) if isinstance(result, dict) else {"status": "OK"}


class ProvidersService:
    def __init__(self, view: StackView) -> None:
        self.view = view

    async def _info(self, instance: ProviderInstance) -> dict[str, Any]:
        return {
            "api": instance.api,
            "provider_id": instance.provider_id,
            "provider_type": instance.provider_type,
            "config": redact(instance.config),
            "health": await provider_health(instance),
        }

    async def list(self) -> dict[str, Any]:
        instances = self.view.instances()
        return {"data": list(await asyncio.gather(*(self._info(i) for i in instances)))}

    async def get(self, request: ProviderIdRequest) -> dict[str, Any]:
        provider_id = request.provider_id
        for instance in self.view.instances():
            if instance.provider_id == provider_id:
                return await self._info(instance)
        known = ", ".join(i.provider_id for i in self.view.instances()) or "none"
        raise NotFoundError(
            f"Provider '{provider_id}' not found. Configured providers: {known}.", param="provider_id"
        )
