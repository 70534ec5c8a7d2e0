"""Keeping the registry in step with the run config, the providers and the other processes.

At start-up: record what each provider lists (``discover``), forget what providers no longer
configured had listed (``drop_orphans``) and register the resources the run config declares
(``register_config_resources``), dropping config resources it no longer declares. While running
(``refresh_loop``): re-read the registry when another process wrote, re-list providers with
``refresh_models`` and retry those whose listing failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from pydantic import BaseModel

from .config import RunConfig, validate_model
from .errors import ConfigError, StackError
from .registries import ResourceService, same_resource
from .spec import ResourceKind
from .view import ProviderInstance, StackView

__all__ = ["Reconciler"]

log = logging.getLogger("stack")


class Reconciler:
    """Registry reconciliation for one running stack."""

    RETRY_S = 10.0

    def __init__(
        self,
        view: StackView,
        config: RunConfig,
        kinds: Mapping[str, ResourceKind],
        registries: Mapping[str, ResourceService],
    ) -> None:
        """``kinds``: the resource kind each served API routes by; ``registries``: the served
        registry services by config key (``models``, ``shields``, ...)."""
        self.view, self.config, self.kinds, self.registries = view, config, kinds, registries
        self.unlisted: set[str] = set()

    async def start(self) -> None:
        for instance in self.view.instances():
            if not await self.discover(instance):
                self.unlisted.add(instance.provider_id)
        await self.drop_orphans()
        await self.register_config_resources()

    async def discover(self, instance: ProviderInstance) -> bool:
        """Register what a provider reports it serves (its kind's ``lister``); False if that failed.

        Listed resources are recorded with source ``provider``; ones it no longer lists are dropped.
        A name already taken by another provider's resource becomes ``<provider_id>/<name>``.
        """
        kind, lister = self.kinds.get(instance.api), instance.capabilities.list_resources
        if kind is None or lister is None:
            return True
        registry = self.view.registry
        try:
            listed = list(await lister())
        except Exception as exc:
            log.warning("provider %s could not list its %s: %s", instance.provider_id, kind.plural, exc)
            return False
        seen: set[str] = set()
        for item in listed:
            resource = (
                item
                if isinstance(item, kind.resource)
                else kind.resource.model_validate({"provider_id": instance.provider_id, **dict(item)})
            )
            existing = registry.get(kind.type, resource.identifier)
            if existing is not None and existing.provider_id != instance.provider_id:
                resource = resource.model_copy(
                    update={"identifier": f"{instance.provider_id}/{resource.identifier}"}
                )
                existing = registry.get(kind.type, resource.identifier)
            seen.add(resource.identifier)
            ours = existing is None or registry.source(kind.type, resource.identifier) == "provider"
            if ours and (existing is None or not same_resource(existing, resource)):
                await registry.put(resource, "provider")
        for resource in registry.list(kind.type):
            gone = resource.provider_id == instance.provider_id and resource.identifier not in seen
            if gone and registry.source(kind.type, resource.identifier) == "provider":
                await registry.delete(kind.type, resource.identifier)
        return True

    async def refresh_loop(self) -> None:
        """Keep the registry in sync with other processes; re-list providers with
        ``refresh_models`` and retry those whose listing failed."""
        loop = asyncio.get_running_loop()
        due: dict[str, float] = {}
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.view.registry.sync()
            except Exception as exc:
                log.warning("registry sync failed: %s", exc)
            now = loop.time()
            for instance in self.view.instances():
                pid = instance.provider_id
                refresh = getattr(instance.config, "refresh_models", False)
                if pid not in self.unlisted and not refresh:
                    continue
                if now < due.get(pid, 0.0):
                    continue
                ok = await self.discover(instance)
                if ok:
                    self.unlisted.discard(pid)
                else:
                    self.unlisted.add(pid)
                interval = float(getattr(instance.config, "refresh_interval", 300.0))
                retry = min(self.RETRY_S, interval)
                due[pid] = now + (interval if ok and refresh else retry if not ok else float("inf"))

    async def drop_orphans(self) -> None:
        """Forget provider-listed resources of providers no longer configured."""
        registry = self.view.registry
        configured = {i.provider_id for i in self.view.instances()}
        for type_ in registry.types:
            for resource in registry.list(type_):
                if (
                    resource.provider_id not in configured
                    and registry.source(type_, resource.identifier) == "provider"
                ):
                    await registry.delete(type_, resource.identifier)

    async def register_config_resources(self) -> None:
        registry = self.view.registry
        for key, service in self.registries.items():
            kind = service.kind
            declared = await self._register_entries(key, service)
            for resource in registry.list(kind.type):
                stale = resource.identifier not in declared
                if stale and registry.source(kind.type, resource.identifier) == "config":
                    await registry.delete(kind.type, resource.identifier)

    async def _register_entries(self, key: str, service: ResourceService) -> set[str]:
        declared: set[str] = set()
        for path, entry in self.config.resources(key):
            request: BaseModel = validate_model(
                service.kind.register_request, entry, what="run config", prefix=path
            )
            try:
                resource = await service.register(request, source="config")
            except StackError as exc:
                where = ".".join(str(p) for p in path)
                raise ConfigError(f"{where}: {exc.message}") from exc
            declared.add(resource.identifier)
        return declared
