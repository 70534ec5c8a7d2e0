"""Bearer-token authentication through the configured auth provider (``server.auth``).

Every route requires ``Authorization: Bearer <token>`` except health, readiness, version and the
``/docs`` page with its assets. The provider's ``authenticate`` returns the ``User`` that the rest
of the request runs as (``current_user``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import AuthConfig, validate_model
from ..context import current_user
from ..errors import AuthenticationError, ConfigError, PermissionDeniedError
from ..hookspecs import AuthContext, Authenticator, RequestInfo
from ..plugins import PluginSet
from .docs import DOCS_PATHS
from .errors import error_response

__all__ = ["PUBLIC_PATHS", "AuthMiddleware", "build_authenticator", "route_path"]

PUBLIC_PATHS = frozenset({"/v1/health", "/v1/health/ready", "/v1/version", *DOCS_PATHS})
CHALLENGE = {"www-authenticate": 'Bearer realm="stack"'}


def _takes_context(factory: Any) -> bool:
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in positional for p in params) >= 2 or any(
        p.kind is inspect.Parameter.VAR_POSITIONAL for p in params
    )


async def build_authenticator(
    config: AuthConfig, plugins: PluginSet, context: AuthContext | None = None
) -> Authenticator:
    """The configured provider's authenticator; ``context`` goes to factories taking two arguments."""
    settings = dict(config.provider_config)
    kind = settings.pop("type", None)
    spec = plugins.auth.get(str(kind)) if kind else None
    if spec is None:
        installed = ", ".join(sorted(plugins.auth)) or "none"
        raise ConfigError(
            f"server.auth.provider_config.type {kind!r} is not an installed auth provider "
            f"(installed: {installed})."
        )
    validated = validate_model(
        spec.config_model(), settings, what="auth config", prefix=("server", "auth", "provider_config")
    )
    factory = spec.factory_function()
    if _takes_context(factory):
        if context is None:
            raise ConfigError(f"auth provider {kind!r} needs the stack's database; start it with the stack.")
        built: Any = factory(validated, context)  # type: ignore[call-arg]
    else:
        built = factory(validated)  # type: ignore[call-arg]
    return await built if inspect.isawaitable(built) else built  # type: ignore[no-any-return]


def route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class AuthMiddleware:
    """Runs after the stack started; ``holder.authenticator`` is built then."""

    def __init__(self, app: ASGIApp, holder: Any, public: frozenset[str] = PUBLIC_PATHS) -> None:
        self.app, self.holder, self.public = app, holder, public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) in self.public:
            await self.app(scope, receive, send)
            return
        token = ""
        for key, value in scope["headers"]:
            if key == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                token = token.strip() if scheme.lower() == "bearer" else ""
                break
        if not token:
            error = AuthenticationError(
                "Missing bearer token: send 'Authorization: Bearer <token>'.", headers=CHALLENGE
            )
            await error_response(error, scope["state"].get("request_id", ""))(scope, receive, send)
            return
        info = RequestInfo(
            path=route_path(scope),
            headers=Lazy(lambda: _headers(scope)),
            params=Lazy(lambda: _params(scope)),
            client_host=(scope.get("client") or (None,))[0],
        )
        try:
            user = await self.holder.authenticator.authenticate(token, info)
        except AuthenticationError as exc:
            exc.headers = {**CHALLENGE, **exc.headers}
            await error_response(exc, scope["state"].get("request_id", ""))(scope, receive, send)
            return
        scope["state"]["user"] = user
        policy = self.holder.stack.access
        if policy.route_rules and not policy.allows_route(user, info.path):
            denied = PermissionDeniedError(f"You may not call {info.path}.")
            await error_response(denied, scope["state"].get("request_id", ""))(scope, receive, send)
            return
        reset = current_user.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            current_user.reset(reset)


V = TypeVar("V")


class Lazy(Mapping[str, V]):
    """A mapping built on first use: most requests carry a token the authenticator has cached, and
    never look at the request's headers or parameters."""

    __slots__ = ("_build", "_built")

    def __init__(self, build: Callable[[], dict[str, V]]) -> None:
        self._build = build
        self._built: dict[str, V] | None = None

    def _data(self) -> dict[str, V]:
        if self._built is None:
            self._built = self._build()
        return self._built

    def __getitem__(self, key: str) -> V:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k != b"authorization"}


def _params(scope: Scope) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    return parse_qs(scope.get("query_string", b"").decode("latin-1"))
