"""Assembling a running stack from a run config and the installed plugins.

Start-up, in order: open the SQL store and the registry; resolve the configured APIs against the
plugins' API specs; start providers API by API in dependency order (validating each config against
its provider's config class and checking it implements its API's protocol); put a router in front
of every routed API; start the kernel-served APIs; register the resources the config declares;
start the job service (``self.jobs``, handed to providers in their context), stopped first on stop.
Anything wrong stops start-up with a ``ConfigError``/``PluginError`` naming the culprit.
"""

from __future__ import annotations

import asyncio
import contextlib
import graphlib
import inspect
import logging
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from .access import AccessPolicy
from .config import ProviderEntry, RunConfig, StoreConfig, stack_home, validate_model
from .errors import ConfigError, PluginError, StackError
from .hookspecs import ProviderContext, ProviderSpec
from .jobs import JobService
from .plugins import PluginSet, load_plugins
from .registry import ResourceRegistry
from .routing import ResourceService, Router, same_resource
from .spec import ApiSpec, ResourceKind, check_protocol
from .storage import Database

__all__ = ["ProviderInstance", "Stack"]

log = logging.getLogger("stack")


@dataclass(frozen=True)
class ProviderInstance:
    api: str
    provider_id: str
    provider_type: str
    spec: ProviderSpec
    config: BaseModel
    impl: object


class Stack:
    """A configured, running set of providers and the objects serving each API."""

    def __init__(self, config: RunConfig, plugins: PluginSet | None = None) -> None:
        self.config = config
        self.plugins = plugins if plugins is not None else load_plugins()
        self.state_dir: Path = stack_home() / (config.image_name or "default")
        self._instances: dict[str, list[ProviderInstance]] = {}
        self._impls: dict[str, object] = {}
        self._served: list[ApiSpec] = []
        self.database: Database | None = None
        self._registry: ResourceRegistry | None = None
        self.jobs: JobService | None = None
        self._refresher: asyncio.Task[None] | None = None
        auth = config.server.auth
        self.access = AccessPolicy.from_config(auth.access_policy if auth else [])
        self.unlisted: set[str] = set()

    # -- queries used by the kernel services and the server ------------------------------------

    @property
    def registry(self) -> ResourceRegistry:
        if self._registry is None:
            raise RuntimeError("stack is not started")
        return self._registry

    def served_apis(self) -> list[ApiSpec]:
        return list(self._served)

    def impl(self, api: str) -> object:
        return self._impls[api]

    def instances(self, api: str | None = None) -> list[ProviderInstance]:
        if api is not None:
            return list(self._instances.get(api, []))
        return [i for group in self._instances.values() for i in group]

    def registry_service(self, plural: str) -> ResourceService:
        """The registry API service for a resource kind, e.g. ``"vector_dbs"``."""
        service = self._impls.get(plural)
        if not isinstance(service, ResourceService):
            raise PluginError(f"no resource registry named {plural!r} is being served")
        return service

    def providers_of(self, api: str) -> dict[str, object]:
        return {i.provider_id: i.impl for i in self._instances.get(api, [])}

    # -- start-up ------------------------------------------------------------------------------

    def plan(self) -> list[ApiSpec]:
        """The APIs this config will serve, in start order; validates API names and providers."""
        provided = self._start_order(self._requested_apis())
        kernel = [
            s
            for s in self.plugins.apis.values()
            if isinstance(s, ApiSpec) and not s.provider_required and all(d in provided for d in s.depends_on)
        ]
        return [self.plugins.api(a) for a in provided] + kernel

    async def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.database = Database(self.config.metadata_store or StoreConfig(), self.state_dir / "registry.db")
        kinds = {s.resource.type: s.resource.resource for s in self.plugins.apis.values() if s.resource}
        self._registry = ResourceRegistry(self.database, kinds)
        await self._registry.open()
        self.jobs = JobService(self.database, self.access)
        try:
            for spec in self.plan():
                if spec.provider_required:
                    await self._start_api(spec)
                else:
                    self._impls[spec.name] = self._kernel_service(spec)
                    self._served.append(spec)
            for instance in self.instances():
                if not await self.discover(instance):
                    self.unlisted.add(instance.provider_id)
            await self._drop_orphans()
            await self._register_config_resources()
            await self.jobs.start()
            self._refresher = asyncio.create_task(self._refresh_loop(), name="stack-refresh")
        except BaseException:
            await self.stop()
            raise

    def check_workers(self, workers: int) -> None:
        """Refuse a config whose providers cannot be shared by ``workers`` server processes."""
        if workers <= 1:
            return
        for api, entries in self.config.providers.items():
            for index, entry in enumerate(entries):
                if self._spec_for(api, index, entry).single_process:
                    raise ConfigError(
                        f"providers.{api}[{index}] (provider_id '{entry.provider_id}', {entry.provider_type}) "
                        f"keeps its state in one process and cannot be served by {workers} workers. "
                        "Run with one worker, or use a provider backed by a server (e.g. remote::pgvector)."
                    )

    def _kernel_service(self, spec: ApiSpec) -> object:
        if spec.kernel is not None:
            return spec.kernel(self)
        if spec.resource is not None:
            return ResourceService(spec.resource, self)
        raise PluginError(f"API {spec.name!r} has provider_required=False but no kernel service")

    def _requested_apis(self) -> list[str]:
        names = list(dict.fromkeys([*self.config.apis, *self.config.providers]))
        requested: list[str] = []
        for name in names:
            spec = self.plugins.apis.get(name)
            if spec is None:
                known = ", ".join(sorted(self.plugins.apis))
                raise ConfigError(
                    f"run config names unknown API '{name}'. Known APIs: {known}. An API may come from "
                    f"a plugin package that is not installed.{self._failures_hint()}"
                )
            if not spec.provider_required:
                continue
            if not self.config.providers.get(name):
                raise ConfigError(
                    f"API '{name}' is listed in apis but providers.{name} configures no provider; "
                    f"add one (see `stack list-providers {name}`) or remove it from apis."
                )
            requested.append(name)
        return requested

    def _failures_hint(self) -> str:
        if not self.plugins.failures:
            return ""
        return " Plugins that failed to load: " + "; ".join(f.describe() for f in self.plugins.failures)

    def _spec_for(self, api: str, index: int, entry: ProviderEntry) -> ProviderSpec:
        spec = self.plugins.provider(api, entry.provider_type)
        if spec is not None:
            return spec
        installed = ", ".join(s.provider_type for s in self.plugins.providers_for(api)) or "none"
        package = "stack-provider-" + entry.provider_type.split("::", 1)[-1]
        raise ConfigError(
            f"providers.{api}[{index}] (provider_id '{entry.provider_id}'): provider type "
            f"'{entry.provider_type}' is not installed. Install the package that provides it, e.g. "
            f"`pip install {package}`. Installed {api} providers: {installed}.{self._failures_hint()}"
        )

    def _start_order(self, apis: list[str]) -> list[str]:
        graph: dict[str, set[str]] = {}
        for api in apis:
            needs: set[str] = set()
            for index, entry in enumerate(self.config.providers[api]):
                spec = self._spec_for(api, index, entry)
                for dep in spec.deps:
                    if dep not in apis:
                        raise ConfigError(
                            f"provider '{entry.provider_id}' ({entry.provider_type}) needs the '{dep}' API; "
                            f"configure a provider under providers.{dep}."
                        )
                needs |= {d for d in (*spec.deps, *spec.optional_deps) if d in apis and d != api}
            graph[api] = needs
        try:
            return list(graph and graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as exc:
            raise ConfigError(f"provider dependencies form a cycle between APIs: {exc.args[1]}") from None

    async def _start_api(self, api_spec: ApiSpec) -> None:
        api = api_spec.name
        seen = {i.provider_id for i in self.instances()}
        for index, entry in enumerate(self.config.providers[api]):
            if entry.provider_id in seen:
                raise ConfigError(
                    f"providers.{api}[{index}]: provider_id '{entry.provider_id}' is used twice"
                )
            seen.add(entry.provider_id)
            instance = await self._start_provider(api_spec, index, entry)
            self._instances.setdefault(api, []).append(instance)
        providers = self.providers_of(api)
        if api_spec.resource is not None:
            self._impls[api] = Router(api_spec, self, providers)
        elif len(providers) == 1:
            self._impls[api] = next(iter(providers.values()))
        else:
            raise ConfigError(
                f"API '{api}' serves one provider at a time, but providers.{api} configures "
                f"{len(providers)} ({', '.join(providers)})."
            )
        self._served.append(api_spec)

    async def _start_provider(self, api_spec: ApiSpec, index: int, entry: ProviderEntry) -> ProviderInstance:
        api = api_spec.name
        spec = self._spec_for(api, index, entry)
        who = f"provider '{entry.provider_id}' ({entry.provider_type}, package {spec.package})"
        config = validate_model(
            spec.config_model(),
            entry.config,
            what=f"config of {who}",
            prefix=("providers", api, index, "config"),
            raw_text=self.config.raw_text,
        )
        assert self.database is not None
        state_dir = self.state_dir / "providers" / entry.provider_id
        state_dir.mkdir(parents=True, exist_ok=True)
        context = ProviderContext(
            provider_id=entry.provider_id,
            api=api,
            deps={d: self._impls[d] for d in (*spec.deps, *spec.optional_deps) if d in self._impls},
            resources=self.registry,
            database=self.database,
            state_dir=state_dir,
            access=self.access,
            registries=self.registry_service,
            jobs=self.jobs,
        )
        try:
            impl = spec.create(config, context)
            if inspect.isawaitable(impl):
                impl = await impl
        except StackError:
            raise
        except Exception as exc:
            raise PluginError(f"{who} failed to start: {type(exc).__name__}: {exc}") from exc
        if api_spec.protocol is not None:
            check_protocol(impl, api_spec.protocol, who=who)
        return ProviderInstance(api, entry.provider_id, entry.provider_type, spec, config, impl)

    async def discover(self, instance: ProviderInstance) -> bool:
        """Register what a provider reports it serves (``list_<plural>()``); False if that failed.

        Listed resources are recorded with source ``provider``; ones it no longer lists are dropped.
        A name already taken by another provider's resource becomes ``<provider_id>/<name>``.
        """
        kind = self.plugins.apis[instance.api].resource
        lister = getattr(instance.impl, f"list_{kind.plural}", None) if kind else None
        if kind is None or lister is None:
            return True
        try:
            result = lister()
            listed = list(await result if inspect.isawaitable(result) else result)
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
            existing = self.registry.get(kind.type, resource.identifier)
            if existing is not None and existing.provider_id != instance.provider_id:
                resource = resource.model_copy(
                    update={"identifier": f"{instance.provider_id}/{resource.identifier}"}
                )
                existing = self.registry.get(kind.type, resource.identifier)
            seen.add(resource.identifier)
            ours = existing is None or self.registry.source(kind.type, resource.identifier) == "provider"
            if ours and (existing is None or not same_resource(existing, resource)):
                await self.registry.put(resource, "provider")
        for resource in self.registry.list(kind.type):
            gone = resource.provider_id == instance.provider_id and resource.identifier not in seen
            if gone and self.registry.source(kind.type, resource.identifier) == "provider":
                await self.registry.delete(kind.type, resource.identifier)
        return True

    RETRY_S = 10.0

    async def _refresh_loop(self) -> None:
        """Keep the registry in sync with other processes; re-list providers with
        ``refresh_models`` and retry those whose listing failed."""
        loop = asyncio.get_running_loop()
        due: dict[str, float] = {}
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.registry.sync()
            except Exception as exc:
                log.warning("registry sync failed: %s", exc)
            now = loop.time()
            for instance in self.instances():
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

    async def _drop_orphans(self) -> None:
        """Forget provider-listed resources of providers no longer configured."""
        configured = {i.provider_id for i in self.instances()}
        for type_ in self.registry.types:
            for resource in self.registry.list(type_):
                if (
                    resource.provider_id not in configured
                    and self.registry.source(type_, resource.identifier) == "provider"
                ):
                    await self.registry.delete(type_, resource.identifier)

    async def _register_config_resources(self) -> None:
        registries = {
            s.resource.config_key: s for s in self._served if s.resource and not s.provider_required
        }
        for spec in self.plugins.apis.values():
            key = spec.resource.config_key if spec.resource else None
            if key and key not in registries and self.config.resources(key):
                raise ConfigError(
                    f"run config declares {key} but no {spec.resource.api} provider is configured to "  # type: ignore[union-attr]
                    "serve them; add one under providers."
                )
        for spec in registries.values():
            kind, service = spec.resource, self._impls[spec.name]
            assert kind is not None and isinstance(service, ResourceService)
            declared = await self._register_entries(kind, service)
            for resource in self.registry.list(kind.type):
                stale = resource.identifier not in declared
                if stale and self.registry.source(kind.type, resource.identifier) == "config":
                    await self.registry.delete(kind.type, resource.identifier)

    async def _register_entries(self, kind: ResourceKind, service: ResourceService) -> set[str]:
        declared: set[str] = set()
        assert kind.config_key is not None
        for path, entry in self.config.resources(kind.config_key):
            request: BaseModel = validate_model(kind.register_request, entry, what="run config", prefix=path)
            try:
                resource = await service.register(request, source="config")
            except StackError as exc:
                where = ".".join(str(p) for p in path)
                raise ConfigError(f"{where}: {exc.message}") from exc
            declared.add(resource.identifier)
        return declared

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        if self.jobs is not None:  # before providers shut down: their runs hand their jobs back
            await self.jobs.stop()
            self.jobs = None
        for instance in reversed(self.instances()):
            shutdown = getattr(instance.impl, "shutdown", None)
            if shutdown is None:
                continue
            try:
                result = shutdown()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("provider %s failed to shut down", instance.provider_id)
        if self.database is not None:
            await self.database.close()
            self.database = None
