"""One llama.cpp model instance, used only by its slot's thread: a plan in, events out."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from stack_core import BadRequestError, UnsupportedError
from stack_core.kits.embeddings import unit_vector

from .plan import Plan, tools_note

if TYPE_CHECKING:
    from llama_cpp.llama_types import CreateCompletionStreamResponse


@dataclass(frozen=True)
class Started:
    """The prompt fits and generation begins (errors before this are the request's fault)."""

    prompt_tokens: int


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Finished:
    reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int


Event = Started | Text | Finished


class Meter:
    """Generated tokens per second (decode, first token to last) over the recent generations of
    all slots."""

    def __init__(self, window: int = 32) -> None:
        self._recent: deque[tuple[int, float]] = deque(maxlen=window)
        self._lock = threading.Lock()

    def record(self, tokens: int, seconds: float) -> None:
        if tokens > 0 and seconds > 0:
            with self._lock:
                self._recent.append((tokens, seconds))

    def tokens_per_s(self) -> float | None:
        with self._lock:
            tokens, seconds = sum(t for t, _ in self._recent), sum(s for _, s in self._recent)
        return round(tokens / seconds, 1) if seconds else None


@dataclass(frozen=True)
class Embedded:
    """The vectors of one embeddings request (unit length, one per text) and its token count."""

    vectors: list[list[float]]
    tokens: int


class Engine:
    """A ``Llama`` and its chat template (the GGUF's own; none means completions only); with
    ``embedding``, an instance that embeds (``embed``) and does nothing else."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int,
        threads: int,
        max_tokens: int | None,
        meter: Meter,
        embedding: bool = False,
    ) -> None:
        from llama_cpp.llama import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.name, self.meter, self.max_tokens = path.name, meter, max_tokens
        self.llama = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            embedding=embedding,
            verbose=False,
        )
        if embedding:
            self.template, self.formatter = "", None
            self.llama.embed("warm-up")
            return
        template = self.llama.metadata.get("tokenizer.chat_template")
        eos = self.llama.token_eos()
        self.template = template or ""
        self.formatter = (
            Jinja2ChatFormatter(
                template=template,
                eos_token=self._token_text(eos),
                bos_token=self._token_text(self.llama.token_bos()),
                stop_token_ids=[eos],
            )
            if template
            else None
        )
        self._warm()

    def _warm(self) -> None:
        """Generate one token at load, so that the first request does not pay for what llama.cpp
        and llama-cpp-python do once (compute buffers sized on the first decode, lazy imports)."""
        from llama_cpp.llama_grammar import LlamaGrammar  # noqa: F401  (what _grammar imports)

        for _ in self.llama.create_completion(
            prompt=[max(self.llama.token_bos(), 0)], max_tokens=1, stream=True
        ):
            pass
        self.llama.reset()  # type: ignore[no-untyped-call]

    def _token_text(self, token: int) -> str:
        return self.llama.detokenize([token], special=True).decode(errors="replace") if token >= 0 else ""

    def run(self, plan: Plan, cancel: threading.Event) -> Generator[Event, None, None]:
        """Generate ``plan`` from a fresh context (``reset()``: temperature 0 is byte-repeatable),
        stopping within a token once ``cancel`` is set."""
        from llama_cpp.llama import LogitsProcessorList, StoppingCriteriaList

        tokens, stop = self._prompt(plan)
        limit = self.llama.n_ctx()
        if len(tokens) >= limit:
            raise BadRequestError(
                f"The prompt is {len(tokens)} tokens, and this model's context window is {limit} tokens "
                "(prompt and completion together): shorten the messages, or raise the provider's n_ctx.",
                param="messages" if plan.prompt is None else "prompt",
                code="context_length_exceeded",
            )
        grammar = _grammar(plan.constraint)
        yield Started(len(tokens))
        room = limit - len(tokens) - 1
        budget = min(plan.sampling.max_tokens or self.max_tokens or room, room)
        sampled: list[float] = []  # when each token was sampled

        def count(_ids: Any, scores: Any) -> Any:
            sampled.append(time.perf_counter())
            return scores

        def stop_now(_ids: Any, _logits: Any) -> bool:
            # llama-cpp-python's own max_tokens check can be skipped while a multi-byte character
            # is incomplete; past the context window llama_decode fails.
            return cancel.is_set() or len(sampled) > budget

        s = plan.sampling
        self.llama.reset()  # type: ignore[no-untyped-call]
        reason = "length"
        chunks = self.llama.create_completion(
            prompt=tokens,
            stream=True,
            max_tokens=budget,
            temperature=s.temperature,
            top_p=s.top_p,
            seed=s.seed,
            stop=[*s.stop, *stop],
            presence_penalty=s.presence_penalty,
            frequency_penalty=s.frequency_penalty,
            grammar=grammar,
            logits_processor=LogitsProcessorList([count]),
            stopping_criteria=StoppingCriteriaList([stop_now]),
        )
        for chunk in cast("Iterator[CreateCompletionStreamResponse]", chunks):
            choice = chunk["choices"][0]
            if choice["text"]:
                yield Text(choice["text"])
            reason = choice["finish_reason"] or reason
        if len(sampled) > budget:
            reason = "length"
        if len(sampled) > 1:
            self.meter.record(len(sampled) - 1, sampled[-1] - sampled[0])
        yield Finished(reason, len(tokens), len(sampled))

    def width(self) -> Generator[int, None, None]:
        """The length of the model's vectors."""
        yield self.llama.n_embd()

    def embed(self, texts: list[str], cancel: threading.Event) -> Generator[Embedded, None, None]:
        """The texts' embeddings: the model's own pooling, or the mean of its token vectors where the
        GGUF names none (a chat model); scaled to unit length, as OpenAI's are."""
        limit, tokens = self.llama.n_ctx(), 0
        for text in texts:
            count = len(self.llama.tokenize(text.encode(), add_bos=True, special=False))
            if count > limit:
                raise BadRequestError(
                    f"An input is {count} tokens, and this model's context window is {limit} tokens: "
                    "split the text, or raise the provider's n_ctx.",
                    param="input",
                    code="context_length_exceeded",
                )
            tokens += count
        vectors = []
        for text in texts:
            if cancel.is_set():
                return
            found: Any = self.llama.embed(text)
            pooled = _mean(found) if found and isinstance(found[0], list) else found
            vectors.append(unit_vector(pooled))
        yield Embedded(vectors, tokens)

    def _prompt(self, plan: Plan) -> tuple[list[int], list[str]]:
        if plan.prompt is not None:
            return self.llama.tokenize(plan.prompt.encode(), add_bos=True, special=False), []
        if self.formatter is None:
            raise UnsupportedError(
                f"{self.name} has no chat template (it is a base model): use /v1/completions.",
                param="model",
            )
        messages = [self._renderable(m) for m in plan.messages]
        if plan.tools and "tools" not in self.template:
            messages.insert(0, tools_note(plan.tools))
        result = self.formatter(messages=messages, tools=list(plan.tools) or None)  # type: ignore[arg-type]
        tokens = self.llama.tokenize(result.prompt.encode(), add_bos=not result.added_special, special=True)
        stop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return tokens, stop

    def _renderable(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """An assistant's earlier tool calls written into its content, for templates that do not
        render ``tool_calls`` themselves."""
        calls = message.get("tool_calls")
        if not calls or "tool_calls" in self.template:
            return dict(message)
        functions = [c.get("function", c) for c in calls]
        return {**message, "content": (message.get("content") or "") + json.dumps(functions)}


def _mean(vectors: list[list[float]]) -> list[float]:
    return [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]


def _grammar(constraint: dict[str, Any] | None) -> Any:
    from llama_cpp.llama_grammar import LlamaGrammar

    if constraint is None:
        return None
    try:
        return LlamaGrammar.from_json_schema(json.dumps(constraint), verbose=False)
    except Exception as exc:
        raise BadRequestError(
            f"The JSON schema cannot be enforced by a llama.cpp grammar: {exc}", param="response_format"
        ) from exc
