"""Web search over a hosted search API: the tool runtime a search provider package composes.

``WebSearchRuntime`` is the whole provider: it serves the tool group ``builtin::websearch`` out of
the box with one tool, ``web_search(query)``, and answers with the 0.2 line's JSON text
``{"query", "top_k": [{"title", "url", "content", "score"?}]}``, HTML tags and entities removed.
What differs per service is a ``SearchEngine``: the request to send and how to read the reply. A
provider package is then its config (``WebSearchConfig`` with its own default URL), its engine and
a ``register(...)`` call::

    create_runtime = web_search_factory(BraveSearch())
    register(api="tool_runtime", provider_type="remote::brave-search",
             config="stack_provider_brave_search.config:BraveSearchConfig",
             factory="stack_provider_brave_search.engine:create_runtime")

The API key is the request's (``X-Stack-Provider-Data: {"<engine.provider_data_key>": ...}``) or
else the config's. Failures: no key 400; key refused 502 (saying whose key); rate limited 429 (with
the service's ``Retry-After``); a timeout 504; the service unreachable 502.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx
import orjson
from pydantic import Field, SecretStr

from ..apis.tool_runtime import ToolDef, ToolInvocation, ToolInvocationResult
from ..config import ConfigModel
from ..context import provider_data_value
from ..errors import (
    BadRequestError,
    ProviderError,
    ProviderRateLimitError,
    ProviderReplyError,
    ProviderTimeoutError,
    StackError,
)
from ..hookspecs import ProviderContext
from ..http import error_message, pooled_client
from ..resources import ToolGroup

__all__ = [
    "WEBSEARCH_GROUP",
    "WEB_SEARCH_TOOL",
    "SearchEngine",
    "SearchHit",
    "SearchRequest",
    "WebSearchConfig",
    "WebSearchRuntime",
    "clean_text",
    "web_search_factory",
]

WEBSEARCH_GROUP = "builtin::websearch"
WEB_SEARCH_TOOL = ToolDef(
    name="web_search",
    description="Search the web. Returns the top results as JSON: title, URL and a text snippet each.",
    input_schema={
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "description": "What to search the web for."}
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


class WebSearchConfig(ConfigModel):
    """Config of a web search provider; a package subclasses it to give ``url`` its default."""

    url: str = Field(description="Base URL of the search API (e.g. a test double's).")
    api_key: SecretStr | None = Field(
        default=None,
        description="API key of the search service; a request's X-Stack-Provider-Data may bring its own.",
    )
    max_results: int = Field(default=3, ge=1, le=20, description="Results returned per search.")
    timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for the service's answer.")
    connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait for a connection.")


def clean_text(text: str) -> str:
    """``text`` without HTML tags and entities, its whitespace collapsed."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub("", text))).strip()


@dataclass(frozen=True)
class SearchHit:
    """One result as the engine read it; the runtime cleans it."""

    title: str
    url: str
    content: str
    score: float | None = None

    def cleaned(self) -> dict[str, Any]:
        hit: dict[str, Any] = {
            "title": clean_text(self.title),
            "url": self.url,
            "content": clean_text(self.content),
        }
        if self.score is not None:
            hit["score"] = self.score
        return hit


@dataclass(frozen=True)
class SearchRequest:
    """The HTTP request a search is (``path`` is under the config's ``url``)."""

    method: Literal["GET", "POST"]
    path: str
    headers: Mapping[str, str]
    params: Mapping[str, str | int] | None = None
    json: Mapping[str, Any] | None = None


class SearchEngine(Protocol):
    """One search service: its names, the request a search is and how to read the answer."""

    title: str
    """The service's name in messages ("Brave Search")."""
    provider_data_key: str
    """Key of a per-request API key in X-Stack-Provider-Data ("brave_search_api_key")."""
    key_env: str
    """The environment variable a run config conventionally takes the key from."""

    def request(self, query: str, api_key: str, max_results: int) -> SearchRequest:
        """The request searching for ``query``."""
        ...

    def hits(self, reply: Any) -> list[SearchHit]:
        """The results of a successful reply (parsed JSON); raise on a shape it cannot read."""
        ...

    def error_status(self, status: int, body: bytes) -> int:
        """What an error reply means as an HTTP status (401: the key was refused, 429: rate
        limited), for services that say so in their own way; else ``status``."""
        ...


class WebSearchRuntime:
    """A tool runtime provider serving ``builtin::websearch`` through one search engine."""

    def __init__(self, config: WebSearchConfig, context: ProviderContext, engine: SearchEngine) -> None:
        self.config, self.engine, self.provider_id = config, engine, context.provider_id
        self._client: httpx.AsyncClient | None = None

    async def list_tool_groups(self) -> list[dict[str, Any]]:
        return [{"identifier": WEBSEARCH_GROUP}]

    async def list_runtime_tools(self, group: ToolGroup) -> list[ToolDef]:
        return [WEB_SEARCH_TOOL]

    async def invoke_tool(self, call: ToolInvocation) -> ToolInvocationResult:
        query = call.kwargs.get("query")
        if not isinstance(query, str) or not query.strip():
            return ToolInvocationResult(
                error_message=f"{call.tool_name} needs a non-empty string argument 'query'.", error_code=400
            )
        query = query.strip()
        api_key, source = self._api_key()
        request = self.engine.request(query, api_key, self.config.max_results)
        reply = await self._send(request, source)
        try:
            hits = self.engine.hits(reply)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ProviderReplyError(
                f"{self.engine.title} answered in a shape provider '{self.provider_id}' cannot read: {exc!r}",
                provider_id=self.provider_id,
            ) from None
        top_k = [hit.cleaned() for hit in hits[: self.config.max_results]]
        return ToolInvocationResult(content=orjson.dumps({"query": query, "top_k": top_k}).decode())

    def _api_key(self) -> tuple[str, str]:
        """The key for this request and where it came from."""
        key = provider_data_value(self.engine.provider_data_key)
        if key:
            return key, f"the request's X-Stack-Provider-Data '{self.engine.provider_data_key}'"
        if self.config.api_key is not None and self.config.api_key.get_secret_value():
            return self.config.api_key.get_secret_value(), f"the api_key of provider '{self.provider_id}'"
        raise BadRequestError(
            f"No {self.engine.title} API key: send one with the request as the header "
            f'X-Stack-Provider-Data: {{"{self.engine.provider_data_key}": "<key>"}}, or set api_key in '
            f"the config of provider '{self.provider_id}' (e.g. api_key: ${{env.{self.engine.key_env}}}).",
            code="missing_api_key",
        )

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            timeout = httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout)
            self._client = pooled_client(base_url=self.config.url.rstrip("/"), timeout=timeout)
        return self._client

    async def _send(self, request: SearchRequest, key_source: str) -> Any:
        try:
            response = await self.client.request(
                request.method,
                request.path,
                headers={"accept": "application/json", **request.headers},
                params=dict(request.params) if request.params is not None else None,
                json=request.json,
            )
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if response.status_code >= 400:
            raise self._refusal(response, key_source)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ProviderReplyError(
                f"{self.engine.title} answered with something other than JSON "
                f"({response.headers.get('content-type', 'no content type')}).",
                provider_id=self.provider_id,
            ) from None

    def _unreachable(self, exc: httpx.HTTPError) -> StackError:
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return ProviderTimeoutError(
                f"{self.engine.title} did not answer within {self.config.timeout:g}s "
                f"(provider '{self.provider_id}', timeout in its config).",
                provider_id=self.provider_id,
            )
        return ProviderError(
            f"{self.engine.title} is unreachable at {self.config.url} (provider '{self.provider_id}'): "
            f"{type(exc).__name__} {exc}".rstrip(),
            provider_id=self.provider_id,
        )

    def _refusal(self, response: httpx.Response, key_source: str) -> StackError:
        status = self.engine.error_status(response.status_code, response.content)
        detail = f"{self.engine.title} answered {response.status_code}: {error_message(response.content)}"
        if status in (401, 403):
            return ProviderError(
                f"{self.engine.title} refused the API key from {key_source}. {detail}",
                provider_id=self.provider_id,
                code="api_key_refused",
            )
        if status == 429:
            retry = response.headers.get("retry-after")
            return ProviderRateLimitError(
                f"{self.engine.title} is rate limiting this key. {detail}",
                provider_id=self.provider_id,
                headers={"retry-after": retry} if retry else None,
            )
        if status in (400, 422):
            return BadRequestError(detail, param="kwargs.query")
        return ProviderError(detail, provider_id=self.provider_id)

    async def shutdown(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def web_search_factory(
    engine: SearchEngine,
) -> Callable[[WebSearchConfig, ProviderContext], WebSearchRuntime]:
    """A provider factory building a ``WebSearchRuntime`` over ``engine``."""

    def factory(config: WebSearchConfig, context: ProviderContext) -> WebSearchRuntime:
        return WebSearchRuntime(config, context, engine)

    return factory
