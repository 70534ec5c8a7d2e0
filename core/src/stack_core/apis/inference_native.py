"""The Llama Stack 0.2 line's native inference routes, as ``llama-stack-client==0.2.12`` calls them
(``client.inference.chat_completion`` / ``completion`` / ``embeddings`` / ``batch_*``).

They are part of the Inference API but no provider implements them: each route's ``via`` builds
its handler from the API's OpenAI-compatible routes (``stack_core.clients.inference_native``), so a
request is translated to an OpenAI one, routed by model like any other, and the reply (or stream)
translated back. Streams are bare ``data: <json>`` events without ``[DONE]``, each a
``ChatCompletionChunk`` (``start``, ``progress`` deltas of text or tool calls, ``complete`` with the
stop reason and token metrics) or, for completions, a ``CompletionChunk``.

Accepted but without effect on OpenAI-compatible backends: ``tool_prompt_format``,
``tool_config.system_message_behavior``, embeddings' ``text_truncation`` and ``task_type``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ..framing import LLAMA_STACK_CHUNKS
from ..spec import ApiModel, Route

__all__ = [
    "NATIVE_ROUTES",
    "BatchChatCompletionRequest",
    "BatchChatCompletionResponse",
    "BatchCompletionRequest",
    "BatchCompletionResponse",
    "ChatCompletionChunk",
    "ChatCompletionEvent",
    "CompletionChunk",
    "CompletionMessage",
    "Content",
    "ContentItem",
    "GenerationRequest",
    "GrammarFormat",
    "GreedyStrategy",
    "ImageItem",
    "JsonSchemaFormat",
    "LogProbConfig",
    "Message",
    "Metric",
    "NativeChatCompletionRequest",
    "NativeChatCompletionResponse",
    "NativeCompletionRequest",
    "NativeCompletionResponse",
    "NativeEmbeddingsRequest",
    "NativeEmbeddingsResponse",
    "ResponseFormat",
    "SamplingParams",
    "StopReason",
    "SystemMessage",
    "TextDelta",
    "TextItem",
    "TokenLogProbs",
    "ToolCall",
    "ToolCallDelta",
    "ToolConfig",
    "ToolDefinition",
    "ToolParam",
    "ToolResponseMessage",
    "TopKStrategy",
    "TopPStrategy",
    "UserMessage",
]

StopReason = Literal["end_of_turn", "end_of_message", "out_of_tokens"]

# -- content and messages -------------------------------------------------------------------


class TextItem(ApiModel):
    type: Literal["text"] = "text"
    text: str


class ImageURL(ApiModel):
    uri: str


class Image(ApiModel):
    url: ImageURL | None = Field(default=None, description="An http(s) or data: URL.")
    data: str | None = Field(default=None, description="Base64-encoded image bytes.")

    @model_validator(mode="after")
    def _url_or_data(self) -> Image:
        if (self.url is None) == (self.data is None):
            raise ValueError("give one of url or data")
        return self


class ImageItem(ApiModel):
    type: Literal["image"] = "image"
    image: Image


ContentItem = Annotated[TextItem | ImageItem, Field(discriminator="type")]
Content = str | ContentItem | list[ContentItem]


class ToolCall(ApiModel):
    call_id: str
    tool_name: str
    arguments: str | dict[str, Any] = Field(description="The arguments, or their text if not a JSON object.")
    arguments_json: str | None = Field(default=None, description="The arguments as the model wrote them.")


class UserMessage(ApiModel):
    role: Literal["user"]
    content: Content
    context: Content | None = Field(default=None, description="Retrieved context, sent after content.")


class SystemMessage(ApiModel):
    role: Literal["system"]
    content: Content


class ToolResponseMessage(ApiModel):
    role: Literal["tool"]
    call_id: str
    content: Content


class CompletionMessage(ApiModel):
    role: Literal["assistant"] = "assistant"
    content: Content
    stop_reason: StopReason = "end_of_turn"
    tool_calls: list[ToolCall] = Field(default_factory=list)


Message = Annotated[
    UserMessage | SystemMessage | ToolResponseMessage | CompletionMessage, Field(discriminator="role")
]

# -- generation parameters ------------------------------------------------------------------


class GreedyStrategy(ApiModel):
    type: Literal["greedy"] = "greedy"


class TopPStrategy(ApiModel):
    type: Literal["top_p"]
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=0.95, gt=0, le=1)


class TopKStrategy(ApiModel):
    type: Literal["top_k"]
    top_k: int = Field(ge=1, description="Sent as the backend's top_k parameter (vLLM, TGI, Ollama).")


Strategy = Annotated[GreedyStrategy | TopPStrategy | TopKStrategy, Field(discriminator="type")]


class SamplingParams(ApiModel):
    strategy: Strategy = Field(default_factory=GreedyStrategy)
    max_tokens: int | None = Field(default=None, ge=0, description="0 or absent: the backend's limit.")
    repetition_penalty: float | None = Field(
        default=1.0, description="Sent as the backend's repetition_penalty when not 1.0 (vLLM, TGI)."
    )
    stop: list[str] | None = None


class JsonSchemaFormat(ApiModel):
    type: Literal["json_schema"]
    json_schema: dict[str, Any]


class GrammarFormat(ApiModel):
    type: Literal["grammar"]
    bnf: dict[str, Any]


ResponseFormat = Annotated[JsonSchemaFormat | GrammarFormat, Field(discriminator="type")]


class LogProbConfig(ApiModel):
    top_k: int = Field(default=0, ge=0, description="How many alternatives per position.")


class ToolParam(ApiModel):
    param_type: str = Field(description="A JSON schema type (string, integer, ...) or a Python name.")
    description: str | None = None
    required: bool = True
    default: Any = None


class ToolDefinition(ApiModel):
    tool_name: str
    description: str | None = None
    parameters: dict[str, ToolParam] | None = None


ToolChoice = Literal["auto", "required", "none"] | str


class ToolConfig(ApiModel):
    tool_choice: ToolChoice | None = Field(default=None, description="auto, required, none or a tool name.")
    tool_prompt_format: Literal["json", "function_tag", "python_list"] | None = None
    system_message_behavior: Literal["append", "replace"] | None = None


# -- requests -------------------------------------------------------------------------------


class GenerationRequest(ApiModel):
    """What every native generation request shares."""

    model_id: str = Field(description="Model identifier, as registered (GET /v1/models).")
    sampling_params: SamplingParams = Field(default_factory=SamplingParams)
    response_format: ResponseFormat | None = None
    logprobs: LogProbConfig | None = None


class _ToolUse(ApiModel):
    tools: list[ToolDefinition] | None = None
    tool_config: ToolConfig | None = None


class NativeChatCompletionRequest(GenerationRequest, _ToolUse):
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    tool_choice: ToolChoice | None = Field(default=None, description="Deprecated: tool_config.tool_choice.")
    tool_prompt_format: Literal["json", "function_tag", "python_list"] | None = None


class NativeCompletionRequest(GenerationRequest):
    content: Content
    stream: bool = False


class BatchChatCompletionRequest(GenerationRequest, _ToolUse):
    messages_batch: list[Annotated[list[Message], Field(min_length=1)]] = Field(min_length=1)


class BatchCompletionRequest(GenerationRequest):
    content_batch: list[Content] = Field(min_length=1)


class NativeEmbeddingsRequest(ApiModel):
    model_id: str = Field(description="Embedding model identifier, as registered.")
    contents: list[str] | list[ContentItem] = Field(min_length=1)
    output_dimension: int | None = Field(default=None, gt=0, description="Sent as OpenAI's dimensions.")
    text_truncation: Literal["none", "start", "end"] | None = None
    task_type: Literal["query", "document"] | None = None


# -- replies --------------------------------------------------------------------------------


class Metric(ApiModel):
    metric: str
    value: float
    unit: str | None = None


class TokenLogProbs(ApiModel):
    logprobs_by_token: dict[str, float]


class NativeChatCompletionResponse(ApiModel):
    completion_message: CompletionMessage
    logprobs: list[TokenLogProbs] | None = None
    metrics: list[Metric] | None = None


class NativeCompletionResponse(ApiModel):
    content: str
    stop_reason: StopReason
    logprobs: list[TokenLogProbs] | None = None
    metrics: list[Metric] | None = None


class NativeEmbeddingsResponse(ApiModel):
    embeddings: list[list[float]]


class BatchChatCompletionResponse(ApiModel):
    batch: list[NativeChatCompletionResponse]


class BatchCompletionResponse(ApiModel):
    batch: list[NativeCompletionResponse]


class TextDelta(ApiModel):
    type: Literal["text"] = "text"
    text: str


class ToolCallDelta(ApiModel):
    type: Literal["tool_call"] = "tool_call"
    tool_call: ToolCall | str = Field(description="Argument text while in progress; the call when parsed.")
    parse_status: Literal["started", "in_progress", "succeeded", "failed"]


class ChatCompletionEvent(ApiModel):
    event_type: Literal["start", "progress", "complete"]
    delta: TextDelta | ToolCallDelta
    stop_reason: StopReason | None = None


class ChatCompletionChunk(ApiModel):
    event: ChatCompletionEvent
    metrics: list[Metric] | None = None


class CompletionChunk(ApiModel):
    delta: str
    stop_reason: StopReason | None = None
    logprobs: list[TokenLogProbs] | None = None
    metrics: list[Metric] | None = None


_VIA = "stack_core.clients.inference_native:"


def _native(
    path: str,
    name: str,
    request: type[ApiModel],
    response: type[ApiModel],
    summary: str,
    *,
    stream: bool = False,
) -> Route:
    return Route(
        "POST",
        f"/v1/inference/{path}",
        name,
        request,
        response,
        stream=stream,
        framing=LLAMA_STACK_CHUNKS,
        via=_VIA + name,
        summary=summary,
    )


NATIVE_ROUTES = (
    _native(
        "chat-completion",
        "chat_completion",
        NativeChatCompletionRequest,
        NativeChatCompletionResponse,
        "Llama Stack 0.2 chat completion (SSE events when stream is true).",
        stream=True,
    ),
    _native(
        "completion",
        "completion",
        NativeCompletionRequest,
        NativeCompletionResponse,
        "Llama Stack 0.2 text completion (SSE events when stream is true).",
        stream=True,
    ),
    _native(
        "embeddings",
        "embeddings",
        NativeEmbeddingsRequest,
        NativeEmbeddingsResponse,
        "Llama Stack 0.2 embeddings.",
    ),
    _native(
        "batch-chat-completion",
        "batch_chat_completion",
        BatchChatCompletionRequest,
        BatchChatCompletionResponse,
        "Chat completions for several conversations, run concurrently.",
    ),
    _native(
        "batch-completion",
        "batch_completion",
        BatchCompletionRequest,
        BatchCompletionResponse,
        "Text completions for several contents, run concurrently.",
    ),
)
