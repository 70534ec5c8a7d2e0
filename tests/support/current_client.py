"""Run by ``tests/integration/test_current_client.py`` with the interpreter of the current client
line (``llama-stack-client`` 0.7, Python >= 3.12): ``python current_client.py BASE_URL VECTOR_DB``.

It lists the models, embeds a text through the OpenAI route, inserts two chunks into the vector DB
by ``vector_store_id`` (one with its embedding, model and dimension, one for the server to embed)
and queries it; prints what the client read, as JSON.
"""

from __future__ import annotations

import json
import sys

import llama_stack_client
from llama_stack_client import LlamaStackClient


def main(base_url: str, store: str) -> None:
    client = LlamaStackClient(base_url=base_url)
    models = {
        m.id: {
            "provider_id": m.provider_id,
            "provider_resource_id": m.provider_resource_id,
            "model_type": m.model_type,
            "metadata": m.metadata,
        }
        for m in client.models.list()
    }
    embedding = client.embeddings.create(model="embed-a", input=["cats purr"]).data[0].embedding
    cats = {
        "chunk_id": "cats",
        "content": "cats purr",
        "chunk_metadata": {"document_id": "pets"},
        "embedding": embedding,
        "embedding_model": "embed-a",
        "embedding_dimension": len(embedding),
        "metadata": {"topic": "pets"},
    }
    pasta = {"chunk_id": "pasta", "content": "boil the pasta", "chunk_metadata": {}, "metadata": {}}
    client.vector_io.insert(vector_store_id=store, chunks=[cats, pasta])  # type: ignore[list-item]
    result = client.vector_io.query(vector_store_id=store, query="cats purr", params={"max_chunks": 2})
    chunks = [
        {
            "chunk_id": c.chunk_id,
            "content": c.content,
            "embedding_model": c.embedding_model,
            "embedding_dimension": c.embedding_dimension,
            "document_id": c.chunk_metadata.document_id,
        }
        for c in result.chunks
    ]
    report = {
        "version": llama_stack_client.__version__,
        "models": models,
        "chunks": chunks,
        "scores": result.scores,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:3])
