"""The slot pool with a stand-in model: one instance per thread, a bounded queue, prompt cancel."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Generator

import pytest
from stack_provider_llama_cpp.pool import SlotPool

from stack_core import ProviderUnavailableError


class Counter:
    """A stand-in model: counts up, one step per ms; remembers the threads that used it."""

    def __init__(self) -> None:
        self.threads: set[int] = set()

    def count(self, n: int, cancel: threading.Event) -> Generator[int, None, None]:
        self.threads.add(threading.get_ident())
        for i in range(n):
            if cancel.is_set():
                return
            time.sleep(0.001)
            yield i


async def collect(events: AsyncIterator[int]) -> list[int]:
    return [i async for i in events]


def pool(slots: int = 1, max_queue: int = 4) -> SlotPool[Counter]:
    return SlotPool(Counter, slots=slots, max_queue=max_queue, name="counter")


async def test_each_instance_is_used_by_its_own_thread_only() -> None:
    made: list[Counter] = []
    slots = SlotPool(lambda: made.append(Counter()) or made[-1], slots=2, max_queue=6, name="counter")
    streams = [slots.submit(lambda c, cancel: c.count(20, cancel)) for _ in range(6)]
    results = await asyncio.gather(*(collect(s) for s in streams))
    assert results == [list(range(20))] * 6
    # each instance is used by at most one thread (which slot takes which job is up to the threads)
    assert len(made) == 2 and all(len(c.threads) <= 1 for c in made)
    used = [c.threads for c in made if c.threads]
    assert used and len(set().union(*used)) == len(used)
    for _ in range(100):  # a slot marks itself idle just after handing over its last event
        if slots.stats()["busy"] == 0:
            break
        await asyncio.sleep(0.01)
    assert slots.stats() == {"slots": 2, "busy": 0, "queued": 0}
    slots.close()


async def test_a_full_queue_is_refused_with_503_and_retry_after() -> None:
    slots = pool(slots=1, max_queue=1)
    running = slots.submit(lambda c, cancel: c.count(10_000, cancel))
    await anext(running)  # the slot is busy
    waiting = slots.submit(lambda c, cancel: c.count(1, cancel))
    with pytest.raises(ProviderUnavailableError, match="at capacity: 1 of 1 slots") as refused:
        slots.submit(lambda c, cancel: c.count(1, cancel))
    assert refused.value.status_code == 503 and refused.value.headers == {"Retry-After": "1"}
    await running.aclose()
    assert [i async for i in waiting] == [0]
    slots.close()


async def test_closing_the_events_frees_the_slot_within_a_step() -> None:
    slots = pool(slots=1)
    endless = slots.submit(lambda c, cancel: c.count(10**9, cancel))
    await anext(endless)
    await endless.aclose()
    started = time.monotonic()
    assert [i async for i in slots.submit(lambda c, cancel: c.count(3, cancel))] == [0, 1, 2]
    assert time.monotonic() - started < 1.0
    slots.close()


async def test_errors_reach_the_request_and_a_failed_load_fails_every_request() -> None:
    def broken(c: Counter, cancel: threading.Event) -> Generator[int, None, None]:
        yield 1
        raise ValueError("bad step")

    slots = pool()
    with pytest.raises(ValueError, match="bad step"):
        [i async for i in slots.submit(broken)]

    def no_model() -> Counter:
        raise OSError("no such file")

    failed: SlotPool[Counter] = SlotPool(no_model, slots=1, max_queue=2, name="missing")
    for _ in range(2):
        with pytest.raises(ProviderUnavailableError, match="could not load its model: no such file"):
            [i async for i in failed.submit(lambda c, cancel: c.count(1, cancel))]
    assert failed.error is not None and not failed.loading
    slots.close()
    failed.close()
