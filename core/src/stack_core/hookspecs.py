"""Hook specifications: everything a plugin can contribute to Stack.

A plugin is a module named by an entry point in the ``stack`` group. It implements any of the hooks
below, marked with ``stack_core.hookimpl``; each hook receives a ``register`` callback::

    from stack_core import hookimpl

    @hookimpl
    def stack_register_providers(register):
        register(api="inference", provider_type="remote::vllm", config=VLLMConfig,
                 factory=create_adapter, sample_config={"url": "${env.VLLM_URL}"},
                 enable_env="VLLM_URL")

The kernel's own APIs are contributed through these same hooks (``stack_core.builtin``).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pluggy
from pydantic import BaseModel

from .access import AccessPolicy, Action
from .calls import ApiHandle, ProviderCall
from .errors import PluginError
from .resources import Resource, User
from .spec import ApiRef, ApiSpec, ResourceKind, resolved

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from .clients import (
        DatasetIOClient,
        FilesClient,
        InferenceClient,
        SafetyClient,
        ScoringClient,
        ToolRuntimeClient,
        VectorIOClient,
        VectorStoresClient,
    )
    from .jobs import JobService
    from .objects import OwnedObjects
    from .storage import Database

__all__ = [
    "AuthContext",
    "AuthFactory",
    "AuthProviderSpec",
    "Authenticator",
    "MiddlewareSpec",
    "ProviderContext",
    "ProviderSpec",
    "RegisterApi",
    "RegisterAuthProvider",
    "RegisterMiddleware",
    "RegisterProvider",
    "Registry",
    "RequestInfo",
    "hookimpl",
    "hookspec",
]

PROJECT = "stack"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class ResourceReader(Protocol):
    """Read access to the resource registry, handed to providers."""

    def get(self, type: str, identifier: str) -> Resource | None: ...

    def list(self, type: str) -> list[Resource]: ...


class Registry(Protocol):
    """One resource kind's registry, acting as the current user (``ProviderContext.registry``)."""

    @property
    def kind(self) -> ResourceKind: ...

    async def lookup(self, identifier: str, action: Action = "read") -> Resource:
        """The resource, if the current user may ``action`` it (else ``NotFoundError`` or
        ``PermissionDeniedError``)."""
        ...

    async def register(self, request: BaseModel) -> Resource:
        """Register a resource from the kind's ``register_request``, owned by the current user."""
        ...

    async def unregister(self, request: BaseModel) -> None:
        """Unregister the resource a request naming its id names."""
        ...


@dataclass(frozen=True)
class ProviderContext:
    """What a provider factory receives besides its config: explicit dependencies, no injection.

    ``deps`` maps each API named in the spec's ``deps``/``optional_deps`` (when configured) to its
    ``ApiHandle``; ``inference``, ``vector_io``, ``safety``, ``files``, ``tool_runtime``,
    ``vector_stores``, ``datasetio`` and ``scoring`` give typed clients over those handles. Calls
    through them go where an HTTP request would (routing, the current user's
    access rules, provider-call wrappers). ``database`` is the stack's SQL database for providers
    that persist state; ``state_dir`` a directory of their own. Per-user objects (files, vector
    stores, ...) go through ``owned_objects(kind)``, which records owners and applies the stack's
    ``access`` policy.
    ``jobs`` is the stack's durable job service: a provider registers a runner per job kind when it
    is created and submits jobs that any server process sharing the database may run, resuming
    them if a process dies (``stack_core.jobs``); it is ``None`` only in contexts built by hand
    outside a stack.
    """

    provider_id: str
    api: str
    deps: Mapping[str, ApiHandle]
    resources: ResourceReader
    database: Database
    state_dir: Path
    access: AccessPolicy = field(default_factory=AccessPolicy)
    registries: Callable[[str], Registry] | None = None
    jobs: JobService | None = None

    def registry(self, plural: str) -> Registry:
        """The kernel's registry of a resource kind (``"vector_dbs"``, ``"models"``), to register
        or unregister resources as the current user would; usable once the stack runs."""
        if self.registries is None:
            raise RuntimeError("no registries in this context")
        return self.registries(plural)

    def owned_objects(self, kind: str) -> OwnedObjects:
        """The store of this provider's ``kind`` objects, access-controlled."""
        from .objects import OwnedObjects

        return OwnedObjects(self.database, kind, self.access)

    def _dep(self, api: str) -> ApiHandle:
        handle = self.deps.get(api)
        if handle is None:
            raise PluginError(
                f"provider {self.provider_id!r} uses the {api!r} API without it being served to it: "
                f"declare it in deps (or optional_deps, and configure a {api} provider)"
            )
        return handle

    @property
    def inference(self) -> InferenceClient:
        """A typed client of the Inference API (declare ``deps=("inference",)``)."""
        from .clients import InferenceClient

        return InferenceClient(self._dep("inference"))

    @property
    def tool_runtime(self) -> ToolRuntimeClient:
        """A typed client of the Tool Runtime API (declare ``deps=("tool_runtime",)``)."""
        from .clients import ToolRuntimeClient

        return ToolRuntimeClient(self._dep("tool_runtime"))

    @property
    def vector_io(self) -> VectorIOClient:
        """A typed client of the VectorIO API (declare ``deps=("vector_io",)``)."""
        from .clients import VectorIOClient

        return VectorIOClient(self._dep("vector_io"))

    @property
    def safety(self) -> SafetyClient:
        """A typed client of the Safety API (declare ``deps=("safety",)``)."""
        from .clients import SafetyClient

        return SafetyClient(self._dep("safety"))

    @property
    def datasetio(self) -> DatasetIOClient:
        """A typed client of the DatasetIO API (declare ``deps=("datasetio",)``)."""
        from .clients import DatasetIOClient

        return DatasetIOClient(self._dep("datasetio"))

    @property
    def scoring(self) -> ScoringClient:
        """A typed client of the Scoring API (declare ``deps=("scoring",)``)."""
        from .clients import ScoringClient

        return ScoringClient(self._dep("scoring"))

    @property
    def files(self) -> FilesClient:
        """A typed client of the Files API (declare ``deps=("files",)``)."""
        from .clients import FilesClient

        return FilesClient(self._dep("files"))

    @property
    def vector_stores(self) -> VectorStoresClient:
        """A typed client of the Vector stores API (declare ``deps=("vector_stores",)``)."""
        from .clients import VectorStoresClient

        return VectorStoresClient(self._dep("vector_stores"))


Factory = Callable[[Any, ProviderContext], "Awaitable[object] | object"]


@dataclass(frozen=True)
class ProviderSpec:
    """A provider type a plugin offers for one API.

    ``config`` is the pydantic model its config block is validated against (a ``ConfigModel``:
    unknown keys refused, validators built on first use; secrets as ``SecretStr``);
    ``factory(config, context)`` returns (or awaits to) the object implementing the API's protocol.
    Either may be given as a ``"package.module:NAME"`` reference, imported only when a stack
    configures the provider, so discovering an unused provider imports nothing of it.
    ``sample_config`` (with ``${env...}`` placeholders) is used
    when a distribution is assembled from installed plugins; a remote provider sets ``enable_env``
    to the variable that turns it on there (e.g. ``VLLM_URL``); an inline provider sets ``fallback``
    when it should step aside there for any enabled remote provider of its API (a local default chat
    model, in use only until a real backend is configured). ``single_process`` marks a provider
    whose state only one process may hold (an index in memory, a directory one client locks): the
    stack refuses to serve it with several workers. ``package`` is filled in by the plugin loader
    with the distribution that registered it.
    """

    api: str
    provider_type: str
    config: type[BaseModel] | str
    factory: Factory | str
    deps: tuple[str, ...] = ()
    optional_deps: tuple[str, ...] = ()
    sample_config: Mapping[str, Any] = field(default_factory=dict)
    enable_env: str | None = None
    description: str = ""
    single_process: bool = False
    fallback: bool = False
    package: str = ""

    @property
    def is_remote(self) -> bool:
        return self.provider_type.startswith("remote::")

    def config_model(self) -> type[BaseModel]:
        """The config class, imported if it was registered by reference."""
        return _config_model(self.config, self._who())

    def create(self, config: BaseModel, context: ProviderContext) -> Awaitable[object] | object:
        """Call the factory, imported if it was registered by reference."""
        made: Awaitable[object] | object = _factory(self.factory, self._who())(config, context)
        return made

    def _who(self) -> str:
        return f"provider type {self.provider_type!r} (package {self.package!r})"

    @property
    def default_id(self) -> str:
        return self.provider_type.split("::", 1)[-1]


def _config_model(config: type[BaseModel] | str, who: str) -> type[BaseModel]:
    model = resolved(config, who)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise PluginError(f"{who}: config {config!r} is not a pydantic model")
    return model


def _factory(factory: Callable[..., Any] | str, who: str) -> Callable[..., Any]:
    made = resolved(factory, who)
    if not callable(made):
        raise PluginError(f"{who}: factory {factory!r} is not callable")
    return made  # type: ignore[no-any-return]


@dataclass(frozen=True)
class RequestInfo:
    """What an authenticator may look at besides the token."""

    path: str
    headers: Mapping[str, str]
    params: Mapping[str, list[str]]
    client_host: str | None = None


class Authenticator(Protocol):
    """Validates a bearer token. Raise ``AuthenticationError`` to refuse (401) and
    ``ProviderUnavailableError`` when the auth service cannot be reached (503, never a pass).

    An authenticator holding resources (HTTP clients) may define ``async def aclose()``; the server
    calls it on shutdown."""

    async def authenticate(self, token: str, request: RequestInfo) -> User: ...


@dataclass(frozen=True)
class AuthContext:
    """What an auth provider factory receives as a second argument, if it takes one: the stack's
    SQL database (started) and a state directory of its own."""

    database: Database
    state_dir: Path


AuthFactory = (
    Callable[[Any], "Authenticator | Awaitable[Authenticator]"]
    | Callable[[Any, AuthContext], "Authenticator | Awaitable[Authenticator]"]
)


@dataclass(frozen=True)
class AuthProviderSpec:
    """An auth provider type for ``server.auth.provider_config.type``.

    ``factory(config)`` or ``factory(config, context)`` (see ``AuthContext``) returns (or awaits to)
    the ``Authenticator``; ``config`` is the pydantic model ``provider_config`` is validated against.
    Either may be a ``"package.module:NAME"`` reference, imported when a server is configured with
    this provider.
    """

    type: str
    config: builtins.type[BaseModel] | str
    factory: AuthFactory | str
    package: str = ""

    def config_model(self) -> builtins.type[BaseModel]:
        return _config_model(self.config, self._who())

    def factory_function(self) -> AuthFactory:
        return _factory(self.factory, self._who())

    def _who(self) -> str:
        return f"auth provider {self.type!r} (package {self.package!r})"


@dataclass(frozen=True)
class MiddlewareSpec:
    """ASGI middleware a plugin contributes: ``factory(app)`` returns the wrapped app (a
    middleware class taking the app, or a function; bind options with ``functools.partial``).
    Plugin middleware runs inside the kernel's own (request id, errors → JSON, access log) and
    outside auth and quota, in ascending ``order`` (ties by ``name``): the lowest is outermost."""

    name: str
    factory: Callable[[ASGIApp], ASGIApp]
    order: int = 100
    package: str = ""


class RegisterProvider(Protocol):
    def __call__(
        self,
        *,
        api: str,
        provider_type: str,
        config: type[BaseModel] | str,
        factory: Factory | str,
        deps: tuple[str, ...] = (),
        optional_deps: tuple[str, ...] = (),
        sample_config: Mapping[str, Any] | None = None,
        enable_env: str | None = None,
        description: str = "",
        single_process: bool = False,
        fallback: bool = False,
    ) -> None: ...


class RegisterApi(Protocol):
    def __call__(self, spec: ApiSpec | ApiRef) -> None: ...


class RegisterMiddleware(Protocol):
    def __call__(self, *, name: str, factory: Callable[[ASGIApp], ASGIApp], order: int = 100) -> None: ...


class RegisterAuthProvider(Protocol):
    def __call__(
        self,
        *,
        type: str,
        config: type[BaseModel] | str,
        factory: AuthFactory | str,
    ) -> None: ...


@hookspec
def stack_register_apis(register: RegisterApi) -> None:
    """Contribute whole APIs: call ``register(ApiSpec(...))`` once per API.

    The spec carries the API's route declarations, its provider protocol and, for routed APIs, its
    resource kind. The API becomes available in run configs under ``spec.name``. A provider-served
    API may instead be registered as ``ApiRef(name, "package.module:SPEC", resource=...)``: its
    module is then imported only by a stack that serves it.
    """


@hookspec
def stack_register_providers(register: RegisterProvider) -> None:
    """Contribute provider types: call ``register(api=..., provider_type=..., config=...,
    factory=...)`` once per provider type this plugin offers. See ``ProviderSpec``."""


@hookspec
def stack_register_auth_providers(register: RegisterAuthProvider) -> None:
    """Contribute authentication providers, selected by ``server.auth.provider_config.type``."""


@hookspec
def stack_register_middleware(register: RegisterMiddleware) -> None:
    """Contribute ASGI middleware: call ``register(name=..., factory=..., order=...)`` once per
    middleware. See ``MiddlewareSpec`` for where it runs; names are unique across plugins."""


@hookspec(firstresult=True)
def stack_provider_call(call: ProviderCall) -> Awaitable[Any]:
    """See every call the kernel makes to a provider: implement it as a wrapper,
    ``@hookimpl(wrapper=True)``, around ``awaitable = yield``, and return an awaitable (e.g. one
    that times or traces ``awaitable``). ``call`` names the API, method, provider and resource.

    The kernel's own implementation makes the call (``call.invoke()``). While no plugin wraps this
    hook, the kernel calls providers directly and the hook costs nothing.
    """
    raise NotImplementedError  # a specification: pluggy never calls this body
