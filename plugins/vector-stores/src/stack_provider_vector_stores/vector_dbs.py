"""Each store keeps its chunks in a VectorDB resource with the store's id, registered through the
kernel's registry service as the current user (so the DB is theirs, and access control applies)."""

from __future__ import annotations

import contextlib
from typing import cast

from pydantic import BaseModel

from stack_core import (
    BadRequestError,
    CreateVectorStoreRequest,
    Model,
    NotFoundError,
    ProviderContext,
    VectorDB,
)

from .config import VectorStoresConfig


class _VectorDbId(BaseModel):
    vector_db_id: str


class VectorDbs:
    def __init__(self, config: VectorStoresConfig, context: ProviderContext) -> None:
        self.config, self.context = config, context

    async def register(self, store_id: str, request: CreateVectorStoreRequest) -> VectorDB:
        """Register the store's VectorDB (id: the store's) as the current user."""
        model = request.embedding_model or self.config.embedding_model or self._default_model()
        found = self.context.resources.get("model", model)
        declared = found.metadata.get("embedding_dimension") if isinstance(found, Model) else None
        body = {
            "vector_db_id": store_id,
            "embedding_model": model,
            "embedding_dimension": request.embedding_dimension or declared,
            "provider_id": request.provider_id or self.config.vector_io_provider_id or self._first_provider(),
            "provider_vector_db_id": request.provider_vector_db_id,
            "vector_db_name": request.name,
        }
        service = self.context.registry("vector_dbs")
        registration = service.kind.register_request.model_validate({k: v for k, v in body.items() if v})
        return cast(VectorDB, await service.register(registration))

    async def unregister(self, vector_db_id: str) -> None:
        with contextlib.suppress(NotFoundError):
            await self.context.registry("vector_dbs").unregister(_VectorDbId(vector_db_id=vector_db_id))

    def _first_provider(self) -> str | None:
        """The first vector_io provider of the run config (the API lists them in that order)."""
        return next(iter(self.context.deps["vector_io"].providers), None)

    def _default_model(self) -> str:
        models = [
            m.identifier
            for m in self.context.resources.list("model")
            if isinstance(m, Model) and m.model_type == "embedding"
        ]
        if not models:
            raise BadRequestError(
                "No embedding model is registered; pass embedding_model, or register one "
                "(POST /v1/models with model_type: embedding).",
                param="embedding_model",
            )
        return models[0]
