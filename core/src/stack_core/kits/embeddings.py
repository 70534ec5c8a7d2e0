"""What every inline embedding provider does around its model: check the ``input`` of an embeddings
request, and shape the vectors as OpenAI answers them (``dimensions``: cut and renormalized, as
Matryoshka-trained models are used; ``encoding_format: base64``: little-endian float32)."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Sequence
from typing import Any

from ..errors import BadRequestError

__all__ = ["embedding_inputs", "embeddings_reply", "unit_vector"]

Vector = Sequence[float]


def embedding_inputs(value: str | list[str] | list[int] | list[list[int]]) -> list[str]:
    """The texts to embed: a string or a non-empty list of non-empty strings (token arrays are
    refused: an inline model tokenizes for itself)."""
    items = [value] if isinstance(value, str) else value
    if not items or not all(isinstance(t, str) for t in items):
        raise BadRequestError("input must be a string or a non-empty list of strings.", param="input")
    if any(not t for t in items):
        raise BadRequestError("input strings must not be empty.", param="input")
    return [str(t) for t in items]


def embeddings_reply(
    model: str,
    vectors: Sequence[Vector],
    *,
    prompt_tokens: int,
    encoding_format: str | None = None,
    dimensions: int | None = None,
) -> dict[str, Any]:
    """The OpenAI embeddings reply for ``vectors`` (one per input, in order)."""
    if dimensions is not None:
        full = len(vectors[0]) if vectors else 0
        if not 0 < dimensions <= full:
            raise BadRequestError(f"dimensions must be between 1 and {full}.", param="dimensions")
        vectors = [unit_vector(vector[:dimensions]) for vector in vectors]
    encode = _base64 if encoding_format == "base64" else _floats
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def unit_vector(vector: Vector) -> list[float]:
    """``vector`` scaled to length 1 (a zero vector stays zero)."""
    norm = max(math.sqrt(sum(x * x for x in vector)), 1e-12)
    return [x / norm for x in vector]


def _floats(vector: Vector) -> list[float]:
    return [float(x) for x in vector]


def _base64(vector: Vector) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
