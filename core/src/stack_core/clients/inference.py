"""``InferenceClient``: chat and embeddings through the Inference API, in-process, typed.

It calls the API's handlers (routing, the current user's access rules and provider-call wrappers
apply as for an HTTP request) and decodes whatever the provider returns::

    inference = context.inference  # InferenceClient(context.deps["inference"])
    result = await inference.chat("llama", [{"role": "user", "content": "hi"}])
    async with inference.chat_stream("llama", messages, tools=tools) as stream:
        async for delta in stream:
            match delta:
                case TextDelta(text=text): ...
                case ChatDone(result=result): ...  # tool calls assembled, usage
    vectors = await inference.embed("embedder", ["a", "b"])

Results describe the first choice; ``ChatResult.raw`` keeps the whole response.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson

from ..apis.inference import ChatCompletionRequest, EmbeddingsRequest
from ..calls import ApiHandle
from ..errors import BadRequestError, ProviderReplyError
from ..payloads import content_text
from .decode import PayloadStream, build_request, decode_reply, decode_stream

__all__ = [
    "ChatDelta",
    "ChatDone",
    "ChatResult",
    "ChatStream",
    "InferenceClient",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]

Message = Mapping[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """A complete function call the model asked for; ``arguments`` is JSON text as the model wrote it."""

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> Any:
        """``arguments`` decoded; ``ProviderReplyError`` when the model wrote invalid JSON."""
        try:
            return orjson.loads(self.arguments or "{}")
        except orjson.JSONDecodeError:
            raise ProviderReplyError(
                f"Tool call '{self.name}' has arguments that are not JSON: {self.arguments[:200]!r}"
            ) from None

    def to_message(self) -> dict[str, Any]:
        """The call as it appears in an assistant message's ``tool_calls``."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def parse(cls, data: object) -> Usage | None:
        if not isinstance(data, Mapping):
            return None
        counts = {k: data.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
        return cls(**{k: v for k, v in counts.items() if isinstance(v, int)})


@dataclass(frozen=True)
class ChatResult:
    """A chat completion's first choice: its text, tool calls, why it stopped, and the usage."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    """The response as a dict (for a stream, a ``chat.completion`` assembled from its chunks)."""


@dataclass(frozen=True)
class TextDelta:
    """More of the assistant's text."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of tool call ``index``: its id and name when first seen, then argument text."""

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True)
class ChatDone:
    """The last item of a stream: the whole result, each tool call's arguments assembled."""

    result: ChatResult


ChatDelta = TextDelta | ToolCallDelta | ChatDone


def _tool_call(call: object, index: int) -> ToolCall:
    fn = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(call, Mapping) or not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
        raise ProviderReplyError(f"The model's tool call {index} has no function name: {call!r:.200}")
    arguments = fn.get("arguments")
    text = arguments if isinstance(arguments, str) else orjson.dumps(arguments or {}).decode()
    return ToolCall(str(call.get("id") or f"call_{index}"), fn["name"], text)


def chat_result(data: dict[str, Any]) -> ChatResult:
    """A decoded ``chat.completion`` as a ``ChatResult``."""
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise ProviderReplyError(f"The model's reply is not a chat completion: {data!r:.200}") from None
    calls = message.get("tool_calls") or ()
    return ChatResult(
        text=content_text(message.get("content")),
        tool_calls=tuple(_tool_call(c, i) for i, c in enumerate(calls)),
        finish_reason=choice.get("finish_reason"),
        usage=Usage.parse(data.get("usage")),
        raw=data,
    )


@dataclass
class _PartialCall:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class _Assembler:
    """Folds chat completion chunks into deltas and, at the end, one ``ChatResult``."""

    def __init__(self) -> None:
        self.head: dict[str, Any] = {}
        self.text: list[str] = []
        self.calls: dict[int, _PartialCall] = {}
        self.finish: str | None = None
        self.usage: Any = None

    def feed(self, chunk: dict[str, Any]) -> list[ChatDelta]:
        if not self.head:
            self.head = {k: chunk[k] for k in ("id", "created", "model") if k in chunk}
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        out: list[ChatDelta] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if text := content_text(delta.get("content")):
                self.text.append(text)
                out.append(TextDelta(text))
            for position, call in enumerate(delta.get("tool_calls") or ()):
                out.append(self._call_delta(call, position))
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return out

    def _call_delta(self, call: Mapping[str, Any], position: int) -> ToolCallDelta:
        index = call.get("index", position)
        fn = call.get("function") or {}
        partial = self.calls.setdefault(index, _PartialCall())
        partial.id = call.get("id") or partial.id
        partial.name = fn.get("name") or partial.name
        arguments = fn.get("arguments")
        if isinstance(arguments, Mapping):  # a backend that sends the arguments whole, as an object
            partial.arguments = [text := orjson.dumps(arguments).decode()]
        else:
            partial.arguments.append(text := arguments if isinstance(arguments, str) else "")
        return ToolCallDelta(index, call.get("id"), fn.get("name"), text)

    def result(self) -> ChatResult:
        calls = [
            _tool_call({"id": p.id, "function": {"name": p.name, "arguments": "".join(p.arguments)}}, i)
            for i, p in sorted(self.calls.items())
        ]
        text = "".join(self.text)
        message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
        if calls:
            message["tool_calls"] = [c.to_message() for c in calls]
        raw = {
            **self.head,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish}],
            "usage": self.usage,
        }
        return ChatResult(text, tuple(calls), self.finish, Usage.parse(self.usage), raw)


class ChatStream:
    """A streamed chat completion: an async iterator of ``ChatDelta`` ending with ``ChatDone``.

    The request is sent on ``async with`` or on the first ``__anext__``. Leaving the ``async with``
    block, or ``aclose()``, closes the provider's stream (and so the upstream HTTP stream). After
    the end, ``result`` holds the ``ChatResult``.
    """

    def __init__(self, send: Callable[[], Awaitable[object]]) -> None:
        self._send = send
        self._payloads: PayloadStream | None = None
        self._assembler = _Assembler()
        self._pending: deque[ChatDelta] = deque()
        self._closed = False
        self.result: ChatResult | None = None

    async def _open(self) -> PayloadStream:
        if self._payloads is None:
            self._payloads = decode_stream(await self._send())
        return self._payloads

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> ChatDelta:
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            try:
                chunk = await (await self._open()).__anext__()
            except StopAsyncIteration:
                self.result = self._assembler.result()
                self._pending.append(ChatDone(self.result))
                await self.aclose()
            except BaseException:
                await self.aclose()
                raise
            else:
                self._pending.extend(self._assembler.feed(chunk))
        return self._pending.popleft()

    async def aclose(self) -> None:
        """Stop early: close the provider's stream."""
        self._closed = True
        if self._payloads is not None:
            await self._payloads.aclose()

    async def __aenter__(self) -> ChatStream:
        try:
            await self._open()
        except BaseException:
            self._closed = True
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _vector(item: object, index: int) -> list[float]:
    embedding = item.get("embedding") if isinstance(item, Mapping) else None
    if isinstance(embedding, str):  # encoding_format: base64, little-endian float32
        packed = array("f")
        packed.frombytes(base64.b64decode(embedding))
        if sys.byteorder == "big":
            packed.byteswap()
        return packed.tolist()
    if not isinstance(embedding, list):
        raise ProviderReplyError(
            f"The embedding model returned an unexpected reply: item {index} has no embedding."
        )
    return [float(x) for x in embedding]


def embeddings(data: dict[str, Any], expected: int) -> list[list[float]]:
    """The vectors of a decoded embeddings response, in input order (by ``index``)."""
    items = data.get("data")
    if not isinstance(items, list) or len(items) != expected:
        got = len(items) if isinstance(items, list) else "none"
        raise ProviderReplyError(
            f"The embedding model returned an unexpected reply: {expected} embeddings expected, got {got}."
        )
    indexed = {item.get("index", i) if isinstance(item, Mapping) else i: item for i, item in enumerate(items)}
    if sorted(indexed) != list(range(expected)):
        raise ProviderReplyError(
            f"The embedding model returned an unexpected reply: indexes {sorted(indexed)!r:.200}."
        )
    return [_vector(indexed[i], i) for i in range(expected)]


class InferenceClient:
    """Chat and embeddings over ``api``, the object serving the Inference API (usually the router,
    ``context.deps["inference"]``). Errors are the kernel's: ``NotFoundError`` for an unknown model,
    the provider's mapped errors, ``ProviderReplyError`` for a reply that cannot be read."""

    EMBED_BATCH = 256

    def __init__(self, api: ApiHandle) -> None:
        self._chat = api.handler("openai_chat_completion")
        self._embeddings = api.handler("openai_embeddings")

    async def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        response_format: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> ChatResult:
        """One chat completion; ``params`` are further OpenAI parameters (``temperature``, ...)."""
        if params.get("stream"):
            raise BadRequestError("chat() does not stream; use chat_stream().", param="stream")
        request = self._chat_request(model, messages, tools, tool_choice, response_format, params)
        return chat_result(decode_reply(await self._chat(request)))

    def chat_stream(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        response_format: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> ChatStream:
        """A streamed chat completion (usage requested with ``stream_options.include_usage``); use
        it as ``async with client.chat_stream(...) as stream: async for delta in stream``."""
        if (params.get("n") or 1) != 1:
            raise BadRequestError("chat_stream() streams one choice; n must be 1.", param="n")
        options = {"include_usage": True, **(params.pop("stream_options", None) or {})}
        params = {**params, "stream": True, "stream_options": options}
        request = self._chat_request(model, messages, tools, tool_choice, response_format, params)
        return ChatStream(lambda: self._chat(request))

    @staticmethod
    def _chat_request(
        model: str,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]] | None,
        tool_choice: str | Mapping[str, Any] | None,
        response_format: Mapping[str, Any] | None,
        params: dict[str, Any],
    ) -> ChatCompletionRequest:
        return build_request(
            ChatCompletionRequest,
            {
                **params,
                "model": model,
                "messages": [dict(m) for m in messages],
                "tools": [dict(t) for t in tools] if tools is not None else None,
                "tool_choice": dict(tool_choice) if isinstance(tool_choice, Mapping) else tool_choice,
                "response_format": dict(response_format) if response_format is not None else None,
            },
        )

    async def embed(self, model: str, texts: Sequence[str], **params: Any) -> list[list[float]]:
        """One vector per text, in order, sent in batches of ``EMBED_BATCH``; ``params`` are further
        OpenAI parameters (``dimensions``)."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.EMBED_BATCH):
            batch = list(texts[start : start + self.EMBED_BATCH])
            request = build_request(EmbeddingsRequest, {**params, "model": model, "input": batch})
            vectors.extend(embeddings(decode_reply(await self._embeddings(request)), len(batch)))
        return vectors
