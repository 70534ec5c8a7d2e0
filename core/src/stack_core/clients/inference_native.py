"""The Llama Stack 0.2 native inference routes, served by translation onto the OpenAI-compatible
ones (declared in ``stack_core.apis.inference_native``).

Each public function is a route's ``via``: given the served Inference API, it returns the route's
handler. A handler turns the native request into OpenAI parameters, calls the API's own OpenAI
handlers (routing by model, access rules and provider-call wrappers apply as to any request)
through ``InferenceClient`` and the one decoder, and translates the reply or stream back. Errors
are the kernel's; one naming the OpenAI ``model`` field names ``model_id`` instead. Batches run
their items concurrently; the first failure fails the batch and cancels the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, TypeVar

import orjson

from ..apis import inference_native as native
from ..apis.inference import CompletionRequest
from ..apis.tool_runtime import ToolParameter, parameters_schema
from ..calls import ApiHandle, Handler
from ..errors import ProviderReplyError, StackError, UnsupportedError
from .decode import PayloadStream, build_request, decode_reply, decode_stream
from .inference import (
    ChatDone,
    ChatResult,
    ChatStream,
    InferenceClient,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "NativeDeltas",
    "batch_chat_completion",
    "batch_completion",
    "chat_completion",
    "completion",
    "embeddings",
    "native_call",
    "native_completion_message",
    "native_sampling_options",
    "native_to_openai_messages",
    "native_tool_choice",
    "stop_reason",
]

T = TypeVar("T")
ChatRequest = native.NativeChatCompletionRequest | native.BatchChatCompletionRequest
_STOP: dict[str, native.StopReason] = {
    "stop": "end_of_turn",
    "length": "out_of_tokens",
    "tool_calls": "end_of_message",
    "function_call": "end_of_message",
}
_IMAGE_TYPES = {"iVBORw0KGgo": "png", "/9j/": "jpeg", "R0lGOD": "gif", "UklGR": "webp"}  # base64 magic
_USAGE = ("prompt_tokens", "completion_tokens", "total_tokens")


def stop_reason(finish_reason: object) -> native.StopReason:
    """The native stop reason of an OpenAI ``finish_reason`` (a stop sequence or none: end of turn)."""
    return _STOP.get(finish_reason if isinstance(finish_reason, str) else "", "end_of_turn")


@contextlib.contextmanager
def _named_by_model_id() -> Iterator[None]:
    try:
        yield
    except StackError as exc:
        if exc.param == "model":
            exc.param = "model_id"
        raise


async def _together(calls: Iterable[Awaitable[T]]) -> list[T]:
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()


# -- requests: native → OpenAI ---------------------------------------------------------------


def _items(content: native.Content) -> list[native.TextItem | native.ImageItem]:
    if isinstance(content, str):
        return [native.TextItem(text=content)]
    return list(content) if isinstance(content, list) else [content]


def _text(content: native.Content, param: str) -> str:
    """The text of content where OpenAI takes no image (completions, embeddings, non-user messages)."""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for item in _items(content):
        if isinstance(item, native.ImageItem):
            raise UnsupportedError(f"'{param}' may hold images only in user messages of a chat.", param=param)
        texts.append(item.text)
    return "\n".join(texts)


def _part(item: native.TextItem | native.ImageItem) -> dict[str, Any]:
    if isinstance(item, native.TextItem):
        return {"type": "text", "text": item.text}
    image = item.image
    if image.url is not None:
        url = image.url.uri
    else:
        data = image.data or ""
        kind = next((t for magic, t in _IMAGE_TYPES.items() if data.startswith(magic)), "png")
        url = f"data:image/{kind};base64,{data}"
    return {"type": "image_url", "image_url": {"url": url}}


def _user_content(message: native.UserMessage) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str) and message.context is None:
        return message.content
    items = _items(message.content) + (_items(message.context) if message.context is not None else [])
    return [_part(item) for item in items]


def _arguments_text(call: native.ToolCall) -> str:
    if call.arguments_json is not None:
        return call.arguments_json
    return call.arguments if isinstance(call.arguments, str) else orjson.dumps(call.arguments).decode()


def _openai_message(message: native.Message, where: str) -> dict[str, Any]:
    if isinstance(message, native.UserMessage):
        return {"role": "user", "content": _user_content(message)}
    text = _text(message.content, f"{where}.content")
    if isinstance(message, native.SystemMessage):
        return {"role": "system", "content": text}
    if isinstance(message, native.ToolResponseMessage):
        return {"role": "tool", "tool_call_id": message.call_id, "content": text}
    calls = [ToolCall(c.call_id, c.tool_name, _arguments_text(c)).to_message() for c in message.tool_calls]
    return {
        "role": "assistant",
        "content": text or (None if calls else ""),
        **({"tool_calls": calls} if calls else {}),
    }


def native_to_openai_messages(messages: Sequence[native.Message], where: str) -> list[dict[str, Any]]:
    """Native messages as OpenAI chat messages (``where``: the request field, for errors)."""
    return [_openai_message(m, f"{where}.{i}") for i, m in enumerate(messages)]


def _openai_tool(tool: native.ToolDefinition) -> dict[str, Any]:
    params = [
        ToolParameter(
            name=n,
            parameter_type=p.param_type,
            description=p.description or "",
            required=p.required,
            default=p.default,
        )
        for n, p in (tool.parameters or {}).items()
    ]
    function = {"name": tool.tool_name, "parameters": parameters_schema(params)}
    return {
        "type": "function",
        "function": function | ({"description": tool.description} if tool.description else {}),
    }


def native_sampling_options(
    sampling: native.SamplingParams, response_format: native.ResponseFormat | None = None
) -> dict[str, Any]:
    """Native sampling parameters and response format as OpenAI chat parameters (None: not sent)."""
    strategy = sampling.strategy
    params: dict[str, Any] = {
        "max_tokens": sampling.max_tokens or None,
        "stop": sampling.stop or None,
        "repetition_penalty": sampling.repetition_penalty if sampling.repetition_penalty != 1.0 else None,
    }
    if isinstance(strategy, native.GreedyStrategy):
        params["temperature"] = 0.0
    elif isinstance(strategy, native.TopPStrategy):
        params.update(temperature=strategy.temperature, top_p=strategy.top_p)
    else:
        params["top_k"] = strategy.top_k
    if isinstance(response_format, native.GrammarFormat):
        raise UnsupportedError(
            "response_format 'grammar' is not supported: OpenAI-compatible backends take a JSON schema "
            "(type 'json_schema').",
            param="response_format.type",
        )
    if response_format is not None:
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": response_format.json_schema},
        }
    return params


def native_tool_choice(choice: str) -> str | dict[str, Any]:
    """A native tool choice (auto, required, none or a tool's name) as OpenAI's ``tool_choice``."""
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _generation(request: native.GenerationRequest, *, chat: bool) -> dict[str, Any]:
    """Sampling, response format and logprobs as OpenAI parameters (None: not sent)."""
    params = native_sampling_options(request.sampling_params, request.response_format)
    if request.logprobs is not None and chat:
        params.update(logprobs=True, top_logprobs=request.logprobs.top_k or None)
    elif request.logprobs is not None:
        params["logprobs"] = request.logprobs.top_k
    return params


def _chat_params(request: ChatRequest, tool_choice: str | None) -> dict[str, Any]:
    params = _generation(request, chat=True)
    if request.tools:
        params["tools"] = [_openai_tool(t) for t in request.tools]
        choice = (request.tool_config.tool_choice if request.tool_config else None) or tool_choice
        if choice is not None:
            params["tool_choice"] = native_tool_choice(choice)
    return params


# -- replies: OpenAI → native ----------------------------------------------------------------


def _metrics(usage: Usage | None) -> list[native.Metric] | None:
    if usage is None:
        return None
    return [native.Metric(metric=name, value=getattr(usage, name)) for name in _USAGE]


def _by_token(entries: object) -> dict[str, float]:
    found: dict[str, float] = {}
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, Mapping) and isinstance(entry.get("logprob"), int | float):
            found[str(entry.get("token"))] = float(entry["logprob"])
    return found


def _chat_logprobs(raw: Mapping[str, Any]) -> list[native.TokenLogProbs] | None:
    choice = (raw.get("choices") or [{}])[0]
    logprobs = choice.get("logprobs") if isinstance(choice, Mapping) else None
    content = logprobs.get("content") if isinstance(logprobs, Mapping) else None
    if not isinstance(content, list):
        return None
    return [
        native.TokenLogProbs(logprobs_by_token=_by_token(p.get("top_logprobs") or [p]))
        for p in content
        if isinstance(p, Mapping)
    ]


def _text_logprobs(logprobs: object) -> list[native.TokenLogProbs] | None:
    if not isinstance(logprobs, Mapping):
        return None
    top, tokens, values = logprobs.get("top_logprobs"), logprobs.get("tokens"), logprobs.get("token_logprobs")
    if isinstance(top, list):
        by_position = [p for p in top if isinstance(p, Mapping)]
    elif isinstance(tokens, list) and isinstance(values, list):
        by_position = [{t: v} for t, v in zip(tokens, values, strict=False)]
    else:
        return None
    return [
        native.TokenLogProbs(logprobs_by_token={str(k): float(v) for k, v in p.items()}) for p in by_position
    ]


def native_call(call: ToolCall) -> tuple[native.ToolCall, bool]:
    """A chat tool call as a native one, and whether its arguments are a JSON object (else they
    stay text)."""
    try:
        parsed = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        parsed = None
    ok = isinstance(parsed, dict)
    arguments = parsed if ok else call.arguments
    return native.ToolCall(
        call_id=call.id, tool_name=call.name, arguments=arguments, arguments_json=call.arguments
    ), ok


def native_completion_message(result: ChatResult) -> native.CompletionMessage:
    """A chat result as the native assistant message."""
    return native.CompletionMessage(
        content=result.text,
        stop_reason=stop_reason(result.finish_reason),
        tool_calls=[native_call(c)[0] for c in result.tool_calls],
    )


def _chat_response(result: ChatResult, logprobs: bool) -> native.NativeChatCompletionResponse:
    return native.NativeChatCompletionResponse(
        completion_message=native_completion_message(result),
        logprobs=_chat_logprobs(result.raw) if logprobs else None,
        metrics=_metrics(result.usage),
    )


def _event(
    kind: Literal["start", "progress", "complete"],
    delta: native.TextDelta | native.ToolCallDelta,
    stop: native.StopReason | None = None,
    metrics: list[native.Metric] | None = None,
) -> native.ChatCompletionChunk:
    event = native.ChatCompletionEvent(event_type=kind, delta=delta, stop_reason=stop)
    return native.ChatCompletionChunk(event=event, metrics=metrics)


NativeDelta = native.TextDelta | native.ToolCallDelta


class NativeDeltas:
    """Chat stream deltas as native content deltas: text as it comes, each tool call ``started``,
    its argument text ``in_progress``, then (``calls``, once the result is whole) ``succeeded`` with
    the parsed call or ``failed`` with its text."""

    def __init__(self) -> None:
        self.started: set[int] = set()

    def delta(self, delta: TextDelta | ToolCallDelta) -> list[NativeDelta]:
        if isinstance(delta, TextDelta):
            return [native.TextDelta(text=delta.text)]
        found: list[NativeDelta] = []
        if delta.index not in self.started:
            self.started.add(delta.index)
            found.append(native.ToolCallDelta(tool_call="", parse_status="started"))
        if delta.arguments:
            found.append(native.ToolCallDelta(tool_call=delta.arguments, parse_status="in_progress"))
        return found

    @staticmethod
    def calls(result: ChatResult) -> list[native.ToolCallDelta]:
        found: list[native.ToolCallDelta] = []
        for call in result.tool_calls:
            parsed, ok = native_call(call)
            status: Literal["succeeded", "failed"] = "succeeded" if ok else "failed"
            found.append(
                native.ToolCallDelta(tool_call=parsed if ok else call.arguments, parse_status=status)
            )
        return found


async def _chat_events(stream: ChatStream) -> AsyncIterator[native.ChatCompletionChunk]:
    """start, then text and tool-call progress (``NativeDeltas``), then complete."""
    try:
        yield _event("start", native.TextDelta(text=""))
        deltas = NativeDeltas()
        async for delta in stream:
            if isinstance(delta, TextDelta | ToolCallDelta):
                for found in deltas.delta(delta):
                    yield _event("progress", found)
            elif isinstance(delta, ChatDone):
                result, stop = delta.result, stop_reason(delta.result.finish_reason)
                for call in deltas.calls(result):
                    yield _event("progress", call, stop)
                yield _event("complete", native.TextDelta(text=""), stop, _metrics(result.usage))
    finally:
        await stream.aclose()


def _first_choice(data: Mapping[str, Any]) -> Mapping[str, Any]:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise ProviderReplyError(f"The model's reply is not a completion: {data!r:.200}")
    choice: Mapping[str, Any] = choices[0]
    return choice


async def _completion_chunks(payloads: PayloadStream) -> AsyncIterator[native.CompletionChunk]:
    finish: object = None
    usage: Usage | None = None
    try:
        async for chunk in payloads:
            usage = Usage.parse(chunk.get("usage")) or usage
            for choice in chunk.get("choices") or ():
                if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                    continue
                finish = choice.get("finish_reason") or finish
                if text := choice.get("text"):
                    yield native.CompletionChunk(
                        delta=str(text), logprobs=_text_logprobs(choice.get("logprobs"))
                    )
        yield native.CompletionChunk(delta="", stop_reason=stop_reason(finish), metrics=_metrics(usage))
    finally:
        await payloads.aclose()


# -- the routes' handlers ---------------------------------------------------------------------


async def _chat(
    client: InferenceClient, model_id: str, messages: list[dict[str, Any]], params: dict[str, Any]
) -> native.NativeChatCompletionResponse:
    with _named_by_model_id():
        result = await client.chat(model_id, messages, **params)
    return _chat_response(result, "logprobs" in params)


def chat_completion(api: ApiHandle) -> Handler:
    client = InferenceClient(api)

    async def handle(
        request: native.NativeChatCompletionRequest,
    ) -> native.NativeChatCompletionResponse | AsyncIterator[native.ChatCompletionChunk]:
        messages = native_to_openai_messages(request.messages, "messages")
        params = _chat_params(request, request.tool_choice)
        if not request.stream:
            return await _chat(client, request.model_id, messages, params)
        stream = client.chat_stream(request.model_id, messages, **params)
        with _named_by_model_id():
            await stream.__aenter__()  # sent now: an unknown model is a 404, not an error event
        return _chat_events(stream)

    return handle


def batch_chat_completion(api: ApiHandle) -> Handler:
    client = InferenceClient(api)

    async def handle(request: native.BatchChatCompletionRequest) -> native.BatchChatCompletionResponse:
        params = _chat_params(request, None)
        batch = [
            native_to_openai_messages(m, f"messages_batch.{i}") for i, m in enumerate(request.messages_batch)
        ]
        replies = await _together(_chat(client, request.model_id, messages, params) for messages in batch)
        return native.BatchChatCompletionResponse(batch=replies)

    return handle


class _Completions:
    """One OpenAI text completion per native content, replies or streams translated back."""

    def __init__(self, api: ApiHandle) -> None:
        self.send = api.handler("openai_completion")

    async def open(self, request: native.GenerationRequest, prompt: str, *, stream: bool) -> object:
        params = _generation(request, chat=False)
        if stream:
            params.update(stream=True, stream_options={"include_usage": True})
        openai = build_request(CompletionRequest, {**params, "model": request.model_id, "prompt": prompt})
        with _named_by_model_id():
            return await self.send(openai)

    async def reply(self, request: native.GenerationRequest, prompt: str) -> native.NativeCompletionResponse:
        data = decode_reply(await self.open(request, prompt, stream=False))
        choice = _first_choice(data)
        return native.NativeCompletionResponse(
            content=str(choice.get("text") or ""),
            stop_reason=stop_reason(choice.get("finish_reason")),
            logprobs=_text_logprobs(choice.get("logprobs")),
            metrics=_metrics(Usage.parse(data.get("usage"))),
        )


def completion(api: ApiHandle) -> Handler:
    completions = _Completions(api)

    async def handle(
        request: native.NativeCompletionRequest,
    ) -> native.NativeCompletionResponse | AsyncIterator[native.CompletionChunk]:
        prompt = _text(request.content, "content")
        if not request.stream:
            return await completions.reply(request, prompt)
        return _completion_chunks(decode_stream(await completions.open(request, prompt, stream=True)))

    return handle


def batch_completion(api: ApiHandle) -> Handler:
    completions = _Completions(api)

    async def handle(request: native.BatchCompletionRequest) -> native.BatchCompletionResponse:
        prompts = [_text(c, f"content_batch.{i}") for i, c in enumerate(request.content_batch)]
        replies = await _together(completions.reply(request, prompt) for prompt in prompts)
        return native.BatchCompletionResponse(batch=replies)

    return handle


def embeddings(api: ApiHandle) -> Handler:
    client = InferenceClient(api)

    async def handle(request: native.NativeEmbeddingsRequest) -> native.NativeEmbeddingsResponse:
        texts = [
            c if isinstance(c, str) else _text(c, f"contents.{i}") for i, c in enumerate(request.contents)
        ]
        with _named_by_model_id():
            vectors = await client.embed(request.model_id, texts, dimensions=request.output_dimension)
        return native.NativeEmbeddingsResponse(embeddings=vectors)

    return handle
