"""Plugin discovery: entry points in the ``stack`` group, loaded lazily and once.

Environment variables narrow or trace loading:

- ``STACK_PLUGINS``: comma-separated entry-point names; only these (and the kernel's own ``core``)
  are loaded.
- ``STACK_DISABLE_PLUGINS``: comma-separated entry-point names never loaded.
- ``STACK_TRACE_PLUGINS=1``: log every plugin loaded and everything it registers.

A plugin that fails to import or to register is recorded as a ``PluginFailure`` naming its
distribution and entry point; it only stops start-up if the run config needs what it would provide.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy
from pydantic import BaseModel

from . import hookspecs
from .apis.resources import resource_api
from .errors import PluginError
from .hookspecs import AuthProviderSpec, MiddlewareSpec, ProviderSpec
from .spec import ApiRef, ApiSpec

__all__ = ["PluginFailure", "PluginSet", "discover", "load_plugins", "reset_plugins"]

log = logging.getLogger("stack.plugins")
GROUP = "stack"
CORE_PLUGIN = "core"


@dataclass(frozen=True)
class PluginFailure:
    name: str
    package: str
    error: str

    def describe(self) -> str:
        return f"plugin {self.name!r} from package {self.package!r} failed: {self.error}"


@dataclass
class PluginSet:
    """Everything the installed plugins contributed."""

    apis: dict[str, ApiSpec | ApiRef] = field(default_factory=dict)
    providers: dict[tuple[str, str], ProviderSpec] = field(default_factory=dict)
    auth: dict[str, AuthProviderSpec] = field(default_factory=dict)
    middleware: dict[str, MiddlewareSpec] = field(default_factory=dict)
    loaded: dict[str, str] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)
    manager: pluggy.PluginManager | None = None

    def provider_call_hook(self) -> Callable[..., Awaitable[Any]] | None:
        """The ``stack_provider_call`` hook, if a plugin wraps it; None when none does, so that
        providers are called directly."""
        if self.manager is None:
            return None
        caller = self.manager.hook.stack_provider_call
        if not any(impl.wrapper or impl.hookwrapper for impl in caller.get_hookimpls()):
            return None
        hook: Callable[..., Awaitable[Any]] = caller  # called as hook(call=ProviderCall(...))
        return hook

    def ordered_middleware(self) -> list[MiddlewareSpec]:
        """Plugin middleware, outermost first."""
        return sorted(self.middleware.values(), key=lambda m: (m.order, m.name))

    def api(self, name: str) -> ApiSpec:
        """The spec of API ``name``, importing it on first use if it was registered as an ``ApiRef``."""
        entry = self.apis[name]
        if isinstance(entry, ApiRef):
            entry = self.apis[name] = entry.load()
        return entry

    def provider(self, api: str, provider_type: str) -> ProviderSpec | None:
        return self.providers.get((api, provider_type))

    def providers_for(self, api: str | None = None) -> list[ProviderSpec]:
        return [s for (a, _), s in sorted(self.providers.items()) if api is None or a == api]


def _names(var: str) -> set[str] | None:
    raw = os.environ.get(var, "").strip()
    return {n.strip() for n in raw.split(",") if n.strip()} if raw else None


def _package(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "<unknown>"


def _is_reference(value: object) -> bool:
    return isinstance(value, str) and all(value.partition(":")[::2])


class _Collector:
    """Receives one plugin's registrations, validating each and naming the plugin on error."""

    def __init__(self, plugins: PluginSet, name: str, package: str, trace: bool) -> None:
        self.plugins, self.name, self.package, self.trace = plugins, name, package, trace

    def _where(self) -> str:
        return f"plugin {self.name!r} (package {self.package!r})"

    def api(self, spec: ApiSpec | ApiRef) -> None:
        """Record an API and, for one routed by a resource kind, the kind's registry API (derived:
        an API is registered once)."""
        if not isinstance(spec, ApiSpec | ApiRef):
            raise PluginError(f"{self._where()} registered {spec!r}, expected an ApiSpec or ApiRef")
        derived = resource_api(spec.resource) if spec.resource and spec.provider_required else None
        for entry in (spec, derived) if derived else (spec,):
            if entry.name in self.plugins.apis:
                raise PluginError(
                    f"{self._where()} registers API {entry.name!r}, which is already registered"
                )
        self.plugins.apis[spec.name] = spec
        if derived is not None:
            self.plugins.apis[derived.name] = derived
        if self.trace:
            what = f"from {spec.target}" if isinstance(spec, ApiRef) else f"{len(spec.routes)} routes"
            log.info("%s: API %s (%s)", self._where(), spec.name, what)

    def middleware(self, *, name: str, factory: Callable[..., Any], order: int = 100) -> None:
        if name in self.plugins.middleware:
            other = self.plugins.middleware[name].package
            raise PluginError(
                f"{self._where()} registers middleware {name!r}, already registered by {other!r}"
            )
        if not callable(factory):
            raise PluginError(f"{self._where()}: middleware {name!r} factory is not callable")
        self.plugins.middleware[name] = MiddlewareSpec(name, factory, order, self.package)

    def provider(self, **kwargs: Any) -> None:
        try:
            spec = ProviderSpec(**{**kwargs, "package": self.package})
        except TypeError as exc:
            raise PluginError(f"{self._where()} called register() wrongly: {exc}") from exc
        if "::" not in spec.provider_type:
            raise PluginError(
                f"{self._where()}: provider_type {spec.provider_type!r} must look like 'remote::name'"
                " or 'inline::name'"
            )
        if not (
            _is_reference(spec.config)
            or (isinstance(spec.config, type) and issubclass(spec.config, BaseModel))
        ):
            raise PluginError(
                f"{self._where()}: config for {spec.provider_type} must be a pydantic model or a "
                "'package.module:NAME' reference to one"
            )
        if not (_is_reference(spec.factory) or callable(spec.factory)):
            raise PluginError(
                f"{self._where()}: factory for {spec.provider_type} must be callable or a "
                "'package.module:NAME' reference"
            )
        key = (spec.api, spec.provider_type)
        if key in self.plugins.providers:
            other = self.plugins.providers[key].package
            raise PluginError(
                f"{self._where()} registers {spec.api} provider {spec.provider_type!r}, "
                f"already registered by package {other!r}"
            )
        self.plugins.providers[key] = spec
        if self.trace:
            log.info("%s: provider %s for %s", self._where(), spec.provider_type, spec.api)

    def auth(self, *, type: str, config: type[BaseModel] | str, factory: Callable[..., Any] | str) -> None:
        if type in self.plugins.auth:
            raise PluginError(f"{self._where()} registers auth provider {type!r} twice")
        self.plugins.auth[type] = AuthProviderSpec(type, config, factory, self.package)


def _collect(pm: pluggy.PluginManager, plugins: PluginSet, trace: bool) -> None:
    hooks: list[tuple[str, Callable[[_Collector], Callable[..., None]]]] = [
        ("stack_register_apis", lambda c: c.api),
        ("stack_register_providers", lambda c: c.provider),
        ("stack_register_auth_providers", lambda c: c.auth),
        ("stack_register_middleware", lambda c: c.middleware),
    ]
    broken: set[str] = set()
    for hook_name, callback in hooks:
        caller = getattr(pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            name = impl.plugin_name
            if name in broken:
                continue
            collector = _Collector(plugins, name, plugins.loaded.get(name, name), trace)
            try:
                impl.function(register=callback(collector))
            except Exception as exc:
                if name == CORE_PLUGIN:
                    raise
                broken.add(name)
                plugins.failures.append(PluginFailure(name, collector.package, f"{hook_name}: {exc}"))
                log.error("plugin %r (package %r) failed in %s: %s", name, collector.package, hook_name, exc)


def discover(
    extra: Mapping[str, object] | None = None,
    *,
    eps: Iterable[EntryPoint] | None = None,
) -> PluginSet:
    """Load plugins from entry points (narrowed by the env vars) plus ``extra`` name → module."""
    allow, deny = _names("STACK_PLUGINS"), _names("STACK_DISABLE_PLUGINS") or set()
    trace = os.environ.get("STACK_TRACE_PLUGINS", "") not in ("", "0", "false")
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = PluginSet()
    candidates = list(entry_points(group=GROUP) if eps is None else eps)
    for ep in sorted(candidates, key=lambda e: (e.name != CORE_PLUGIN, e.name)):
        if ep.name in deny or (allow is not None and ep.name not in allow and ep.name != CORE_PLUGIN):
            continue
        if ep.name in plugins.loaded:
            continue
        package = _package(ep)
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:
            if ep.name == CORE_PLUGIN:
                raise
            plugins.failures.append(PluginFailure(ep.name, package, f"{type(exc).__name__}: {exc}"))
            log.error("plugin %r (package %r) failed to load: %s", ep.name, package, exc)
            continue
        plugins.loaded[ep.name] = package
        if trace:
            log.info("loaded plugin %r from package %r", ep.name, package)
    if CORE_PLUGIN not in plugins.loaded:
        from . import builtin

        pm.register(builtin, name=CORE_PLUGIN)
        plugins.loaded[CORE_PLUGIN] = "stack-core"
    for name, module in (extra or {}).items():
        pm.register(module, name=name)
        plugins.loaded[name] = getattr(module, "__package__", None) or name
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc
    _collect(pm, plugins, trace)
    plugins.manager = pm
    return plugins


_cached: PluginSet | None = None


def load_plugins() -> PluginSet:
    """The installed plugins, discovered on first use and cached."""
    global _cached
    if _cached is None:
        _cached = discover()
    return _cached


def reset_plugins() -> None:
    global _cached
    _cached = None
