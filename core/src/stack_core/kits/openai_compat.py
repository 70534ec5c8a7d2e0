"""Talking to OpenAI-compatible backends: the helper every remote inference adapter composes.

``OpenAICompatClient`` is one pooled HTTP client per provider (the kernel's HTTP/1.1 transport,
without httpx's objects), with timeouts, retries where they are safe (connection refused, 429/503
before any reply, never sooner than their ``Retry-After`` and only when it is at most
``max_retry_after``; otherwise the client gets the ``Retry-After``), and backend errors mapped onto
the kernel's exception tree with the provider named. A 200 that is not what was asked for (HTML, an empty or
cut-off body, a stream that is not SSE) is a 502 naming the provider: checked by content type and
first and last byte, not by parsing the reply.
``OpenAICompatAdapter`` implements the Inference protocol on top of it, relaying upstream JSON and
SSE streams as bytes without re-parsing them. A provider package is then little more than a config
class and a ``register(...)`` call::

    register(api="inference", provider_type="remote::vllm", config=VLLMConfig,
             factory=openai_compat_factory(), sample_config={"url": "${env.VLLM_URL}"},
             enable_env="VLLM_URL")
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

import httpx
import orjson
from pydantic import BaseModel, SecretStr

from ..apis.inference import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest
from ..config import RemoteInferenceConfig
from ..context import provider_data_value
from ..errors import (
    BadRequestError,
    NotFoundError,
    ProviderError,
    ProviderRateLimitError,
    ProviderReplyError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    StackError,
)
from ..hookspecs import ProviderContext
from ..http import Http11Transport, Reply, error_message
from ..payloads import SSEStream, sse_error
from ..redact import redact_urls
from ..resources import Model

__all__ = [
    "ModelLister",
    "OpenAICompatAdapter",
    "OpenAICompatClient",
    "RemoteInferenceConfig",
    "create_adapter",
    "openai_compat_factory",
]

log = logging.getLogger("stack.remote")
RETRYABLE_STATUS = frozenset({429, 503})


class OpenAICompatClient:
    """A pooled client for one backend. Create it anywhere; it connects on first use.

    Paths are relative to ``base_url`` (the OpenAI API root); ``origin`` is the server's root URL,
    for backends whose native routes live beside the OpenAI ones (Ollama's ``/api/tags``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        provider_id: str,
        api_key: SecretStr | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        max_retries: int = 2,
        provider_data_key: str | None = None,
        origin: str | None = None,
        max_retry_after: float = 2.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = (origin or base_url).rstrip("/")
        self.provider_id = provider_id
        self.api_key = api_key
        self.timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self.max_retries, self.max_retry_after = max_retries, max_retry_after
        self.provider_data_key = provider_data_key
        self._transport: Http11Transport | None = None
        self._urls: dict[str, httpx.URL] = {}
        self._timeout = self.timeout.as_dict()
        self._headers = [(b"content-type", b"application/json"), (b"accept", b"application/json")]
        if api_key is not None and api_key.get_secret_value():
            self._headers.append((b"authorization", f"Bearer {api_key.get_secret_value()}".encode()))

    @property
    def transport(self) -> Http11Transport:
        if self._transport is None:
            self._transport = Http11Transport()
        return self._transport

    def url(self, path: str) -> httpx.URL:
        """Absolute URL for a path under ``base_url`` (or an absolute URL), parsed once."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(path if "://" in path else self.base_url + path)
        return url

    def headers(self) -> list[tuple[bytes, bytes]]:
        key = self._request_key()
        if key is None:
            return self._headers
        bearer = (b"authorization", f"Bearer {key}".encode())
        return [*(h for h in self._headers if h[0] != b"authorization"), bearer]

    def _request_key(self) -> str | None:
        return provider_data_value(self.provider_data_key) if self.provider_data_key else None

    def _map_status(self, status: int, body: bytes, retry_after: str | None = None) -> StackError:
        message = f"{self.provider_id}: {error_message(body)}"
        headers = {"retry-after": retry_after} if retry_after else None
        if status == 404:
            return NotFoundError(message, code="model_not_found")
        if status == 429:
            return ProviderRateLimitError(
                f"Provider rate limit: {message}", provider_id=self.provider_id, headers=headers
            )
        if status in (400, 413, 422):
            return BadRequestError(message)
        if status in (401, 403):
            return ProviderError(
                f"Provider rejected the credentials: {message}", provider_id=self.provider_id
            )
        if status == 503:
            return ProviderUnavailableError(message, provider_id=self.provider_id, headers=headers)
        return ProviderError(f"Provider error {status}: {message}", provider_id=self.provider_id)

    def _map_exception(self, exc: httpx.HTTPError) -> StackError:
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return ProviderTimeoutError(
                f"Provider '{self.provider_id}' did not answer in time ({exc.__class__.__name__}).",
                provider_id=self.provider_id,
            )
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return ProviderUnavailableError(
                f"Provider '{self.provider_id}' is unreachable at {redact_urls(self.base_url)}: "
                f"{redact_urls(str(exc))}",
                provider_id=self.provider_id,
            )
        return ProviderError(f"Provider '{self.provider_id}' failed: {exc}", provider_id=self.provider_id)

    async def _backoff(self, attempt: int, at_least: float = 0.0) -> None:
        await asyncio.sleep(max(at_least, min(2.0, 0.1 * 2**attempt) * (0.5 + random.random())))

    def _bad_reply(self, what: str) -> ProviderReplyError:
        return ProviderReplyError(
            f"Provider '{self.provider_id}' answered with {what}.", provider_id=self.provider_id
        )

    def _check_reply(self, reply: Reply, body: bytes | None) -> None:
        """Refuse a success that is not JSON (``body``) or, streaming (no body yet), not SSE, cheaply."""
        media = reply.header(b"content-type") or ""
        if body is None:
            if media and not media.startswith("text/event-stream"):
                raise self._bad_reply(f"{media.partition(';')[0] or 'no content type'} instead of a stream")
            return
        if media and "json" not in media:
            raise self._bad_reply(f"{media.partition(';')[0]} instead of JSON")
        first, last = body[:64].lstrip()[:1], body[-64:].rstrip()[-1:]
        if first + last not in (b"{}", b"[]"):
            raise self._bad_reply("an empty body" if not first else "a body that is not JSON")

    async def _send(
        self, method: str, path: str, body: bytes | None, stream: bool
    ) -> tuple[Reply, bytes | None]:
        """Send, retrying only where the backend cannot have acted on the request: the reply and,
        unless ``stream``, its body (read whole)."""
        url, verb = self.url(path), method.encode()
        for attempt in range(self.max_retries + 1):
            try:
                reply = await self.transport.send(verb, url, self.headers(), body or b"", self._timeout)
                content = None if stream and reply.status < 400 else await reply.read()
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt < self.max_retries:
                    await self._backoff(attempt)
                    continue
                raise self._map_exception(exc) from None
            except httpx.HTTPError as exc:
                raise self._map_exception(exc) from None
            if reply.status < 400:
                try:
                    self._check_reply(reply, content)
                except ProviderReplyError:
                    await reply.close()
                    raise
                return reply, content
            retry_after = reply.header(b"retry-after")
            wait = _seconds(retry_after)
            soon = wait is None or wait <= self.max_retry_after
            if reply.status in RETRYABLE_STATUS and attempt < self.max_retries and soon:
                await self._backoff(attempt, wait or 0.0)
                continue
            raise self._map_status(reply.status, content or b"", retry_after if wait is not None else None)
        raise AssertionError("unreachable")

    async def request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        """The upstream JSON body, as bytes."""
        _, content = await self._send(method, path, body, stream=False)
        assert content is not None
        return content

    async def get_json(self, path: str) -> Any:
        return orjson.loads(await self.request("GET", path))

    async def stream(self, path: str, body: bytes) -> SSEStream:
        """Open an SSE stream (errors before the first byte raise here) and relay it verbatim."""
        reply, _ = await self._send("POST", path, body, stream=True)
        return SSEStream(self._relay(reply))

    async def _relay(self, reply: Reply) -> AsyncIterator[bytes]:
        tail = b""
        try:
            async for chunk in reply.chunks():
                yield chunk
                tail = (tail + chunk)[-32:]
        except httpx.HTTPError as exc:
            message = f"Provider '{self.provider_id}' broke off the stream: {type(exc).__name__}"
            yield sse_error(ProviderError(message, provider_id=self.provider_id))
            return
        finally:
            await reply.close()
        if not tail.rstrip().endswith(b"[DONE]"):
            message = f"Provider '{self.provider_id}' ended the stream without [DONE]."
            yield sse_error(ProviderError(message, provider_id=self.provider_id))

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()
            self._transport = None


def _seconds(retry_after: str | None) -> float | None:
    """A ``Retry-After`` value (seconds or an HTTP date) in seconds from now; None if absent or unreadable."""
    if not retry_after:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


ModelLister = Callable[[OpenAICompatClient], Awaitable[list[str]]]


async def list_openai_models(client: OpenAICompatClient) -> list[str]:
    """Model ids from ``GET /models`` (the OpenAI list shape)."""
    data = await client.get_json("/models")
    return [str(m["id"]) for m in data.get("data", [])]


def _model_type(model_id: str) -> Literal["llm", "embedding"]:
    return "embedding" if "embed" in model_id.lower() else "llm"


class OpenAICompatAdapter:
    """The Inference protocol over an OpenAI-compatible backend, relaying bytes."""

    def __init__(
        self,
        config: RemoteInferenceConfig,
        context: ProviderContext,
        client: OpenAICompatClient,
        lister: ModelLister = list_openai_models,
    ) -> None:
        self.config, self.context, self.client, self.lister = config, context, client, lister
        self.served: list[str] | None = None

    @staticmethod
    def _body(request: BaseModel) -> bytes:
        return request.model_dump_json(exclude_unset=True).encode()

    async def openai_chat_completion(self, request: ChatCompletionRequest) -> bytes | SSEStream:
        if request.stream:
            return await self.client.stream("/chat/completions", self._body(request))
        return await self.client.request("POST", "/chat/completions", self._body(request))

    async def openai_completion(self, request: CompletionRequest) -> bytes | SSEStream:
        if request.stream:
            return await self.client.stream("/completions", self._body(request))
        return await self.client.request("POST", "/completions", self._body(request))

    async def openai_embeddings(self, request: EmbeddingsRequest) -> bytes:
        return await self.client.request("POST", "/embeddings", self._body(request))

    async def list_models(self) -> list[Model]:
        self.served = await self.lister(self.client)
        provider_id = self.context.provider_id
        return [Model(identifier=m, provider_id=provider_id, model_type=_model_type(m)) for m in self.served]

    async def register_model(self, model: Model) -> Model:
        if self.served is None:
            try:
                self.served = await self.lister(self.client)
            except StackError:
                log.warning(
                    "%s: cannot verify model %s, backend unreachable",
                    self.context.provider_id,
                    model.identifier,
                )
                return model
        if model.provider_key not in self.served:
            self.served = await self.lister(self.client)
        if model.provider_key not in self.served:
            raise BadRequestError(
                f"Provider '{self.context.provider_id}' does not serve model '{model.provider_key}'. "
                f"It serves: {', '.join(self.served) or 'no models'}.",
                param="provider_model_id",
            )
        return model

    async def health(self) -> dict[str, str]:
        try:
            await self.lister(self.client)
        except StackError as exc:
            return {"status": "Error", "message": exc.message}
        return {"status": "OK"}

    async def shutdown(self) -> None:
        await self.client.close()


def openai_compat_factory(
    lister: ModelLister = list_openai_models,
    path: str = "",
) -> Callable[[RemoteInferenceConfig, ProviderContext], OpenAICompatAdapter]:
    """A provider factory building an ``OpenAICompatAdapter``; ``path`` is appended to the url
    (Ollama serves the OpenAI API under ``/v1``)."""

    def factory(config: RemoteInferenceConfig, context: ProviderContext) -> OpenAICompatAdapter:
        client = OpenAICompatClient(
            config.url.rstrip("/") + path,
            provider_id=context.provider_id,
            api_key=config.api_key,
            timeout=config.timeout,
            connect_timeout=config.connect_timeout,
            max_retries=config.max_retries,
            provider_data_key=config.provider_data_key,
            origin=config.url,
            max_retry_after=config.max_retry_after,
        )
        return OpenAICompatAdapter(config, context, client, lister)

    return factory


create_adapter = openai_compat_factory()
"""The factory of a provider that is nothing but an OpenAI-compatible API (vLLM, hosted services):
``register(..., factory="stack_core.kits.openai_compat:create_adapter")``."""
