"""Stream framings: relaying already-framed OpenAI chunks on routes that end without ``[DONE]``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from stack_core import LLAMA_STACK_CHUNKS, OPENAI_CHUNKS

EVENTS = b'data: {"n":0}\n\ndata: {"n":1}\n\n'
DONE = b"data: [DONE]\n\n"


async def upstream(chunks: list[bytes], closed: list[bool]) -> AsyncIterator[bytes]:
    try:
        for chunk in chunks:
            yield chunk
    finally:
        closed.append(True)


@pytest.mark.parametrize(
    "chunks",
    [
        [EVENTS, DONE],
        [EVENTS + DONE],
        [EVENTS[:5], EVENTS[5:] + DONE[:7], DONE[7:]],
        [EVENTS + DONE[:1], DONE[1:]],
        [EVENTS],
    ],
    ids=["separate", "glued", "split-everywhere", "split-after-d", "none"],
)
async def test_llama_stack_chunks_relay_everything_but_done(chunks: list[bytes]) -> None:
    closed: list[bool] = []
    assert LLAMA_STACK_CHUNKS.relay is not None and OPENAI_CHUNKS.relay is None
    relayed = [c async for c in LLAMA_STACK_CHUNKS.relay(upstream(chunks, closed))]
    assert b"".join(relayed) == EVENTS and closed == [True]
    if chunks[0] == EVENTS:  # whole events go out as they arrive, nothing held back
        assert relayed[0] == EVENTS


def test_the_two_chunk_framings_differ_only_in_the_terminator() -> None:
    item = {"n": 0}
    assert LLAMA_STACK_CHUNKS.event(item) == OPENAI_CHUNKS.event(item) == b'data: {"n":0}\n\n'
    assert (OPENAI_CHUNKS.end, LLAMA_STACK_CHUNKS.end) == (DONE, b"")
