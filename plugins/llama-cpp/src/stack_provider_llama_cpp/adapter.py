"""Local GGUF chat models behind the Inference API, one slot pool per model."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

from stack_core import (
    BadRequestError,
    ChatCompletionRequest,
    CompletionRequest,
    ConfigError,
    EmbeddingsRequest,
    Model,
    ProviderContext,
    UnsupportedError,
)
from stack_core.kits.embeddings import embedding_inputs, embeddings_reply

from .config import LlamaCppConfig, default_threads
from .engine import Engine, Event, Meter
from .models import BUNDLED_ID, bundled_model, gguf_path
from .plan import Plan, chat_plan, completion_plan
from .pool import Events, SlotPool
from .replies import ChatShape, CompletionShape

Shape = ChatShape | CompletionShape


class LlamaCppProvider:
    """``inline::llama-cpp``: chat and text completions from GGUF models; embeddings from the GGUF
    models registered with ``model_type: embedding`` (instances of their own)."""

    def __init__(self, config: LlamaCppConfig, context: ProviderContext) -> None:
        self.config, self.context = config, context
        self.meter = Meter()
        self.pools: dict[str, SlotPool[Engine]] = {}
        self.embedders: dict[str, SlotPool[Engine]] = {}
        self.path = bundled_model() if config.model is None else _configured(config.model)
        self.model_id = config.model_id or (BUNDLED_ID if config.model is None else self.path.stem)
        self.default = self._pool(self.model_id, self.path)

    def _pool(self, key: str, path: Path, embedding: bool = False) -> SlotPool[Engine]:
        c, threads = self.config, self.config.threads or default_threads()
        load = functools.partial(
            Engine,
            path,
            n_ctx=c.n_ctx,
            threads=threads,
            max_tokens=c.max_tokens,
            meter=self.meter,
            embedding=embedding,
        )
        pool = SlotPool(load, slots=c.parallel, max_queue=c.max_queue, name=f"llama-cpp model {key!r}")
        (self.embedders if embedding else self.pools)[key] = pool
        return pool

    def _serving(self, model: str) -> SlotPool[Engine]:
        """The pool of a model id or GGUF path (a model registered before a restart loads on first use)."""
        return self.pools.get(model) or self._pool(model, gguf_path(model))

    def _embedding(self, model: str) -> SlotPool[Engine]:
        """The embedding pool of a GGUF path."""
        return self.embedders.get(model) or self._pool(model, gguf_path(model), embedding=True)

    async def list_models(self) -> list[Model]:
        metadata = {"context_length": self.config.n_ctx, "gguf": self.path.name}
        return [Model(identifier=self.model_id, provider_id=self.context.provider_id, metadata=metadata)]

    async def register_model(self, model: Model) -> Model:
        """A chat model loads in the background; an embedding model is loaded now, to record its
        ``embedding_dimension``."""
        if model.model_type != "embedding":
            self._serving(model.provider_key).start()
            return model
        if model.provider_key == self.model_id:
            raise BadRequestError(
                f"'{self.model_id}' is served as a chat model; to embed with a GGUF, register it with "
                "provider_model_id set to the path of its .gguf file.",
                param="provider_model_id",
            )
        pool = self._embedding(model.provider_key)
        async with pool.submit(lambda engine, _: engine.width()) as events:
            width = await anext(events)
        metadata = {"embedding_dimension": width, **model.metadata}
        return model.model_copy(update={"metadata": metadata})

    async def openai_chat_completion(
        self, request: ChatCompletionRequest
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        plan = chat_plan(request)
        return await self._generate(
            request.model, plan, ChatShape(request.model, plan.call), request.stream, request.stream_options
        )

    async def openai_completion(
        self, request: CompletionRequest
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        plan = completion_plan(request)
        return await self._generate(
            request.model, plan, CompletionShape(request.model), request.stream, request.stream_options
        )

    async def openai_embeddings(self, request: EmbeddingsRequest) -> dict[str, Any]:
        if request.model not in self.embedders and request.model in (*self.pools, self.model_id):
            raise UnsupportedError(
                f"'{request.model}' is a chat model: register a GGUF with model_type embedding to "
                "embed with inline::llama-cpp, or use an embedding provider such as "
                "inline::sentence-transformers.",
                param="model",
            )
        pool = self._embedding(request.model)  # one registered before a restart loads now
        texts = embedding_inputs(request.input)
        async with pool.submit(lambda engine, cancel: engine.embed(texts, cancel)) as events:
            embedded = await anext(events)
        return embeddings_reply(
            request.model,
            embedded.vectors,
            prompt_tokens=embedded.tokens,
            encoding_format=request.encoding_format,
            dimensions=request.dimensions,
        )

    async def _generate(
        self, model: str, plan: Plan, shape: Shape, stream: bool | None, options: dict[str, Any] | None
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        """Queue the generation and wait until it starts, so that a full queue, a prompt over the
        context window or a schema llama.cpp cannot enforce fail the request with their status."""
        events: Events[Event] = self._serving(model).submit(lambda engine, cancel: engine.run(plan, cancel))
        try:
            await anext(events)  # Started
            if not stream:
                return await shape.whole(events)
        except BaseException:
            await events.aclose()
            raise
        return _relay(events, shape.chunks(events, bool((options or {}).get("include_usage"))))

    async def health(self) -> dict[str, Any]:
        """Loading while the model loads; the slots' load, the queue and recent tokens/s."""
        pool, pools = self.default, self.pools.values()
        counts = [p.stats() for p in pools]
        stats: dict[str, Any] = {k: sum(c[k] for c in counts) for k in ("slots", "busy", "queued")}
        stats["tokens_per_s"] = self.meter.tokens_per_s()
        summary = (
            f"{stats['busy']}/{stats['slots']} slots busy, {stats['queued']} queued, "
            f"{stats['tokens_per_s'] or '-'} tokens/s"
        )
        if pool.error is not None:
            return {"status": "Error", "message": str(pool.error), **stats}
        if pool.threads and pool.loading:
            return {"status": "Loading", "message": f"loading {self.path.name}", **stats}
        return {"status": "OK", "message": summary, **stats}

    async def shutdown(self) -> None:
        for pool in (*self.pools.values(), *self.embedders.values()):
            pool.close()


async def _relay(
    events: Events[Event], chunks: AsyncGenerator[dict[str, Any], None]
) -> AsyncIterator[dict[str, Any]]:
    """The stream's chunks; when the server closes it (the client went away), the slot is freed."""
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        await events.aclose()
        await chunks.aclose()


def _configured(model: str) -> Path:
    try:
        return gguf_path(model)
    except BadRequestError as exc:
        raise ConfigError(f"inline::llama-cpp model: {exc.message}") from None


async def create_provider(config: LlamaCppConfig, context: ProviderContext) -> LlamaCppProvider:
    """The provider factory: the model starts loading in the background (``preload``)."""
    provider = LlamaCppProvider(config, context)
    if config.preload:
        provider.default.start()
    return provider
