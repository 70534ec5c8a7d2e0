"""Splitting text into overlapping windows of approximate tokens (no tokenizer download).

A token is a run of word characters or one punctuation mark, which tracks subword tokenizers'
counts closely enough for sizing chunks. Chunks are slices of the original text, so whitespace
and line breaks inside them are kept.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    return sum(1 for _ in _TOKEN.finditer(text))


def chunk_text(text: str, max_tokens: int, overlap: int) -> list[str]:
    """Windows of at most ``max_tokens`` tokens, each sharing ``overlap`` tokens with the previous."""
    if not 0 <= overlap < max_tokens:
        raise ValueError("overlap must be at least 0 and less than max_tokens")
    spans = [m.span() for m in _TOKEN.finditer(text)]
    chunks: list[str] = []
    for start in range(0, len(spans), max_tokens - overlap):
        window = spans[start : start + max_tokens]
        chunks.append(text[window[0][0] : window[-1][1]])
        if start + max_tokens >= len(spans):
            break
    return chunks
