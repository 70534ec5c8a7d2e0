"""Assembling a running stack from a run config and the installed plugins.

Start-up, in order: open the SQL store and the registry; resolve the configured APIs against the
plugins' API specs; start providers API by API in dependency order (validating each config against
its provider's config class, checking it implements its API's protocol and noting its optional
capabilities); build each API's dispatch (``routing``) and fill the routes' slots; start the
kernel-served APIs; reconcile the registry with the providers and the config (``reconcile``);
start the job service (``self.jobs``, handed to providers in their context), stopped first on stop.
Anything wrong stops start-up with a ``ConfigError``/``PluginError`` naming the culprit.
"""

from __future__ import annotations

import asyncio
import contextlib
import graphlib
import inspect
import logging
from pathlib import Path

from pydantic import BaseModel

from .access import AccessPolicy
from .capabilities import Capabilities
from .config import RESOURCE_KEYS, ProviderEntry, RunConfig, StoreConfig, stack_home, validate_model
from .errors import ConfigError, PluginError, StackError
from .hookspecs import ProviderContext, ProviderSpec, Registry
from .jobs import JobService
from .jobs.secrets import Sealer
from .plugins import PluginSet, load_plugins
from .reconcile import Reconciler
from .registries import ResourceService
from .registry import ResourceRegistry
from .routing import (
    ApiBinding,
    ApiDispatch,
    DirectApi,
    KernelApi,
    ProviderCalls,
    RoutedApi,
    RouteSlot,
    ServedApi,
)
from .spec import ApiSpec, ResourceKind, check_protocol, resolved
from .storage import Database
from .view import ProviderInstance

__all__ = ["ProviderInstance", "Stack"]

log = logging.getLogger("stack")


class Stack:
    """A configured, running set of providers and the handlers serving each API's routes."""

    def __init__(self, config: RunConfig, plugins: PluginSet | None = None) -> None:
        self.config = config
        self.plugins = plugins if plugins is not None else load_plugins()
        self.state_dir: Path = stack_home() / (config.image_name or "default")
        self._instances: dict[str, list[ProviderInstance]] = {}
        self._apis: dict[str, ServedApi] = {}
        self._registries: dict[str, ResourceService] = {}
        self._slots: dict[tuple[str, str], RouteSlot] = {}
        self.database: Database | None = None
        self._registry: ResourceRegistry | None = None
        self._reconciler: Reconciler | None = None
        self.jobs: JobService | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._calls = ProviderCalls(self.plugins.provider_call_hook())
        auth = config.server.auth
        self.access = AccessPolicy.from_config(auth.access_policy if auth else [])

    # -- queries used by the kernel services and the server ------------------------------------

    @property
    def registry(self) -> ResourceRegistry:
        if self._registry is None:
            raise RuntimeError("stack is not started")
        return self._registry

    def served_apis(self) -> list[ApiSpec]:
        return [served.spec for served in self._apis.values()]

    def api(self, name: str) -> ServedApi:
        """A served API's handlers (what providers depending on it call in-process)."""
        return self._apis[name]

    def slot(self, api: str, route: str) -> RouteSlot:
        """Where the HTTP endpoint of ``api``'s route ``route`` finds its handler once started."""
        return self._slots.setdefault((api, route), RouteSlot())

    def instances(self, api: str | None = None) -> list[ProviderInstance]:
        if api is not None:
            return list(self._instances.get(api, []))
        return [i for group in self._instances.values() for i in group]

    def registry_service(self, plural: str) -> Registry:
        """The registry service for a resource kind, e.g. ``"vector_dbs"``."""
        service = self._registries.get(plural)
        if service is None:
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
        self._registry = ResourceRegistry(self.database, {k.type: k.resource for k in self._kinds()})
        try:
            await self._registry.open()
        except Exception as exc:
            await self.stop()
            raise ConfigError(
                f"metadata_store: cannot open the stack's database: {type(exc).__name__}: {exc}. Check "
                "that it is running and reachable, and the metadata_store settings."
            ) from None
        self.jobs = JobService(self.database, self.access, sealer=Sealer(self.state_dir / "secrets.key"))
        try:
            for spec in self.plan():
                if spec.provider_required:
                    await self._start_api(spec)
                else:
                    self._serve(spec, {}, KernelApi(self._kernel_service(spec)))
            self._reconciler = Reconciler(self, self.config, self._routed_kinds(), self._config_registries())
            await self._reconciler.start()
            await self.jobs.start()
            self._refresher = asyncio.create_task(self._reconciler.refresh_loop(), name="stack-refresh")
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

    def _serve(self, spec: ApiSpec, providers: dict[str, object], dispatch: ApiDispatch) -> None:
        """Build the API's handlers and fill its routes' slots."""
        served = self._apis[spec.name] = ServedApi(spec, providers, dispatch)
        for name, handler in served.handlers.items():
            self.slot(spec.name, name).handler = handler

    def _kernel_service(self, spec: ApiSpec) -> object:
        if spec.kernel is not None:
            return spec.kernel(self)
        if spec.resource is not None:
            service = self._registries[spec.name] = ResourceService(spec.resource, self)
            return service
        raise PluginError(f"API {spec.name!r} has provider_required=False but no kernel service")

    def _kinds(self) -> list[ResourceKind]:
        """Every resource kind an installed API routes by."""
        return [s.resource for s in self.plugins.apis.values() if s.resource is not None]

    def _routed_kinds(self) -> dict[str, ResourceKind]:
        return {s.name: s.resource for s in self.served_apis() if s.provider_required and s.resource}

    def _config_registries(self) -> dict[str, ResourceService]:
        """The served registries by config key; a config declaring resources of a kind no served
        API routes by is refused."""
        registries: dict[str, ResourceService] = {}
        for spec in self.served_apis():
            kind = spec.resource
            if kind is not None and kind.config_key and spec.name in self._registries:
                registries[kind.config_key] = self._registries[spec.name]
        for key in RESOURCE_KEYS:
            if key not in registries and self.config.resources(key):
                api = next((k.api for k in self._kinds() if k.config_key == key), key)
                raise ConfigError(
                    f"run config declares {key} but no {api} provider is configured to serve them; "
                    "add one under providers."
                )
        return registries

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
        binding = ApiBinding(api_spec, providers, self, self._calls)
        if api_spec.router is not None:
            dispatch: ApiDispatch = resolved(api_spec.router, f"API {api!r} router")(binding)
        elif api_spec.resource is not None:
            dispatch = RoutedApi(binding)
        elif len(providers) == 1:
            dispatch = DirectApi(binding)
        else:
            raise ConfigError(
                f"API '{api}' serves one provider at a time, but providers.{api} configures "
                f"{len(providers)} ({', '.join(providers)})."
            )
        self._serve(api_spec, providers, dispatch)

    def problems(self) -> list[str]:
        """What would stop this config from starting that can be found without starting it: unknown
        APIs or provider types, invalid provider configs, malformed resource entries, workers a
        provider cannot share. Each problem is one message naming its place in the config."""
        try:
            self.plan()
            self.check_workers(self.config.server.workers)
        except StackError as exc:
            return [exc.message]
        found: list[str] = []
        for api, entries in self.config.providers.items():
            for index, entry in enumerate(entries):
                try:
                    self._provider_config(api, index, entry)
                except StackError as exc:
                    found.append(exc.message)
        for kind in self._kinds():
            for path, declared in self.config.resources(kind.config_key) if kind.config_key else ():
                try:
                    validate_model(kind.register_request, declared, what="run config", prefix=path)
                except StackError as exc:
                    found.append(exc.message)
        return found

    def _provider_config(
        self, api: str, index: int, entry: ProviderEntry
    ) -> tuple[ProviderSpec, BaseModel, str]:
        """The provider's spec, its validated config and how errors name it."""
        spec = self._spec_for(api, index, entry)
        who = f"provider '{entry.provider_id}' ({entry.provider_type}, package {spec.package})"
        config = validate_model(
            spec.config_model(),
            entry.config,
            what=f"config of {who}",
            prefix=("providers", api, index, "config"),
            raw_text=self.config.raw_text,
        )
        return spec, config, who

    async def _start_provider(self, api_spec: ApiSpec, index: int, entry: ProviderEntry) -> ProviderInstance:
        api = api_spec.name
        spec, config, who = self._provider_config(api, index, entry)
        assert self.database is not None
        state_dir = self.state_dir / "providers" / entry.provider_id
        state_dir.mkdir(parents=True, exist_ok=True)
        context = ProviderContext(
            provider_id=entry.provider_id,
            api=api,
            deps={d: self._apis[d] for d in (*spec.deps, *spec.optional_deps) if d in self._apis},
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
        capabilities = Capabilities.of(impl, api_spec.resource)
        log.info(
            "%s implements %s; optional capabilities: %s",
            who,
            api_spec.protocol.__name__ if api_spec.protocol else f"the {api} API",
            ", ".join(capabilities.names(api_spec.resource)) or "none",
        )
        return ProviderInstance(api, entry.provider_id, entry.provider_type, spec, config, impl, capabilities)

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
            shutdown = instance.capabilities.shutdown
            if shutdown is None:
                continue
            try:
                result = shutdown()
                if inspect.isawaitable(result):  # tolerate a plain function
                    await result
            except Exception:
                log.exception("provider %s failed to shut down", instance.provider_id)
        if self.database is not None:
            await self.database.close()
            self.database = None
