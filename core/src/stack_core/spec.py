"""API declarations: every route is declared once, here-shaped, in its API's spec module.

A ``Route`` names the method on the object that serves the API (a provider, or the kernel's router
for that API), the request model (path, query and body parameters together, as one pydantic model)
and the response model. The Starlette routes, ``/openapi.json``, ``/v1/inspect/routes`` and the
start-up protocol checks are all derived from these declarations.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from .calls import ApiHandle, Handler
from .errors import PluginError
from .framing import OPENAI_CHUNKS, Framing
from .resources import Resource

__all__ = ["ApiModel", "ApiRef", "ApiSpec", "ResourceKind", "Route", "check_protocol", "resolved"]

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_PATH_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::path)?}")


class ApiModel(BaseModel):
    """Base of API request and response models. Their validators are built on first use
    (``defer_build``), so the APIs a stack does not serve cost it neither memory nor start-up time."""

    model_config = ConfigDict(defer_build=True)


@dataclass(frozen=True)
class Route:
    """One HTTP route of an API.

    ``name`` is the coroutine method called on the API's implementation with one argument, an
    instance of ``request`` built from the path parameters, the query string (GET/DELETE) and the
    JSON body (other methods). ``stream`` routes may return an async iterator, sent as SSE.
    ``routing_key`` names the request field that holds the resource identifier the router
    dispatches on (routed APIs only). ``aliases`` are extra paths serving the same route.
    ``framing`` is how a streaming route's items become SSE events (``stack_core.framing``:
    OpenAI chunks ending in ``[DONE]`` by default, named events, or turn events);
    ``alias_framing`` that of the ``aliases`` where it differs (a route family of another client
    line). ``via`` marks a route the API's providers do not implement: a function (or a
    ``"package.module:NAME"`` reference to one) that, given the served API (an ``ApiHandle``),
    returns the route's handler, built once at start-up on top of the API's provider-served routes
    (a translation onto them, such as the Llama Stack 0.2 native inference routes).
    """

    method: HttpMethod
    path: str
    name: str
    request: type[BaseModel] | None = None
    response: Any = None
    stream: bool = False
    routing_key: str | None = None
    summary: str = ""
    aliases: tuple[str, ...] = ()
    status_code: int = 200
    raw_body: bool = False
    framing: Framing = OPENAI_CHUNKS
    alias_framing: Framing | None = None
    via: str | Callable[[ApiHandle], Handler] | None = None

    def framing_for(self, path: str) -> Framing:
        """The framing of one of the route's paths: ``alias_framing`` (when set) on the aliases."""
        return self.alias_framing if self.alias_framing is not None and path != self.path else self.framing

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, *self.aliases)


@dataclass(frozen=True)
class ResourceKind:
    """A resource type and how its registration request maps onto it.

    ``id_param`` / ``provider_id_param`` are the register-request fields that become
    ``identifier`` / ``provider_resource_id``; the rest are copied by name. ``api`` is the API whose
    providers serve this kind. ``lister``, ``registrar`` and ``unregistrar`` are the one-method
    Protocols (``runtime_checkable``) of a provider's optional capabilities for this kind: report
    what it serves, accept or refuse a registration, forget an unregistered resource. The kernel
    checks them with ``isinstance`` at start-up. ``claimer`` is a synchronous one, ``claims_x(resource)
    -> bool``: a registration that names no provider goes to the one provider claiming the resource
    (datasets: the Hugging Face provider claims ``huggingface://`` sources). ``list_aliases`` are extra
    paths of the listing.
    """

    type: str
    singular: str
    plural: str
    resource: builtins.type[Resource]
    api: str
    path: str
    id_param: str
    provider_id_param: str
    register_request: builtins.type[BaseModel]
    path_param: str | None = None
    config_key: str | None = None
    list_aliases: tuple[str, ...] = ()
    lister: builtins.type | None = None
    registrar: builtins.type | None = None
    unregistrar: builtins.type | None = None
    claimer: builtins.type | None = None

    @property
    def item_path(self) -> str:
        """The item route; ``:path`` lets identifiers contain slashes (``meta-llama/Llama-3``)."""
        return f"{self.path}/{{{self.path_param or self.id_param}:path}}"

    def build(self, request: BaseModel, provider_id: str) -> Resource:
        data = request.model_dump(exclude_none=True)
        identifier = data.pop(self.id_param, None) or f"{self.type}-{uuid.uuid4().hex[:16]}"
        provider_resource_id = data.pop(self.provider_id_param, None)
        data.pop("provider_id", None)
        return self.resource(
            identifier=identifier,
            provider_id=provider_id,
            provider_resource_id=provider_resource_id,
            **data,
        )


@dataclass(frozen=True)
class ApiSpec:
    """A whole API: its name (as used in the run config's ``apis:``), routes and provider protocol.

    ``protocol`` lists the coroutine methods a provider of this API must implement; ``resource`` is
    set for APIs whose calls are routed to a provider by a resource (inference → Model). APIs with
    ``provider_required=False`` are served by the kernel: a registry API (``resource`` set) by the
    kernel's registry service, any other by the object ``kernel(view)`` returns (``view``: the
    running stack's ``StackView``); and only while every API in ``depends_on`` is served.

    ``router(binding)`` lets an API whose calls are not "one resource → one provider" (scoring
    fans out over several functions, tool runtime looks a tool up through its group) build its
    own dispatch: it receives a ``routing.ApiBinding`` (the API's providers, the stack view, the
    provider-call invoker) and returns an object whose ``handler(route)`` gives each route's
    callable, once, at start-up. It may be given as a ``"package.module:NAME"`` reference, imported
    when the API is served.
    """

    name: str
    routes: tuple[Route, ...]
    protocol: type | None = None
    resource: ResourceKind | None = None
    description: str = ""
    provider_required: bool = True
    depends_on: tuple[str, ...] = field(default=())
    kernel: Callable[[Any], object] | None = None
    router: Callable[[Any], Any] | str | None = None

    def __post_init__(self) -> None:
        seen: set[tuple[str, str]] = set()
        names = [route.name for route in self.routes]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise PluginError(f"API {self.name!r} names several routes {twice}; route names are unique")
        for route in self.routes:
            for path in route.paths:
                key = (route.method, path)
                if key in seen:
                    raise PluginError(f"API {self.name!r} declares {route.method} {path} twice")
                seen.add(key)
            if route.request is not None:
                missing = set(route.path_params) - set(route.request.model_fields)
                if missing:
                    raise PluginError(
                        f"API {self.name!r} route {route.method} {route.path}: path parameters "
                        f"{sorted(missing)} are not fields of {route.request.__name__}"
                    )


def resolved(value: Any, who: str) -> Any:
    """``value`` itself or, for a ``"package.module:NAME"`` reference, what it names (importing its
    module); errors name ``who`` registered it."""
    if not isinstance(value, str):
        return value
    module, _, attribute = value.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise PluginError(f"{who}: cannot import {value}: {exc}") from exc


@dataclass(frozen=True)
class ApiRef:
    """A provider-served API declared without importing it: ``target`` (``"package.module:NAME"``)
    names its ``ApiSpec``, imported only when a stack serves the API or a tool lists its routes, so
    an installed API a config does not use costs neither memory nor start-up time. ``resource`` is
    the resource kind the spec routes by (from a light module): the registry needs every kind up
    front."""

    name: str
    target: str
    resource: ResourceKind | None = None
    provider_required: ClassVar[bool] = True

    def load(self) -> ApiSpec:
        spec = resolved(self.target, f"API {self.name!r}")
        if not isinstance(spec, ApiSpec) or (spec.name, spec.resource) != (self.name, self.resource):
            raise PluginError(
                f"API {self.name!r}: {self.target} is not an ApiSpec named {self.name!r} with the "
                "resource kind its ApiRef declares"
            )
        if not spec.provider_required:
            raise PluginError(f"API {self.name!r}: an ApiRef may only name a provider-served API")
        return spec


def protocol_methods(protocol: type) -> list[str]:
    """The public method names a protocol declares (its own and inherited, not object's)."""
    names: list[str] = []
    for cls in protocol.__mro__:
        if cls in (object,) or cls.__name__ in ("Protocol", "Generic"):
            continue
        for name, value in vars(cls).items():
            if not name.startswith("_") and callable(value) and name not in names:
                names.append(name)
    return names


def check_protocol(impl: object, protocol: type, *, who: str) -> None:
    """Raise ``PluginError`` naming ``who`` if ``impl`` lacks a method of ``protocol``."""
    problems: list[str] = []
    for name in protocol_methods(protocol):
        method: Callable[..., Any] | None = getattr(impl, name, None)
        expected = getattr(protocol, name)
        if method is None or not callable(method):
            problems.append(f"missing method {name}()")
        elif inspect.iscoroutinefunction(expected) and not (
            inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)
        ):
            problems.append(f"{name}() must be async")
    if problems:
        raise PluginError(f"{who} does not implement {protocol.__name__}: {'; '.join(problems)}")
