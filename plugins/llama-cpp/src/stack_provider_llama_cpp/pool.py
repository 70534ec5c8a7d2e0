"""Slots: model instances, each owned by one worker thread, fed from one bounded queue.

A llama.cpp context is not thread-safe (two threads in one abort the process), and generation is
long, blocking work: so each slot is a thread of its own that loads its instance once, then takes
jobs off the shared queue, one at a time, and never touches the event loop except to hand it
events. A job is a generator run in that thread; its events reach the request's coroutine through
an asyncio queue. Closing the request's ``Events`` (the client went away) sets the job's cancel
flag, which the work checks between tokens, so the slot is free again within a token.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

from stack_core import ProviderUnavailableError

M = TypeVar("M")
E = TypeVar("E")

Work = Callable[[M, threading.Event], Generator[E, None, None]]
"""What a job runs in a slot's thread: given the slot's instance and the cancel flag, yield events."""


class _End:
    pass


_END = _End()


@dataclass(eq=False)
class _Job(Generic[M, E]):
    work: Work[M, E]
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue[E | BaseException | _End] = field(default_factory=asyncio.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)

    def deliver(self, item: E | BaseException | _End) -> bool:
        """Hand ``item`` to the request's coroutine; False once its event loop is gone."""
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, item)
        except RuntimeError:
            return False
        return True


class Events(Generic[E]):
    """A job's events, as an async iterator; ``aclose()`` (or leaving ``async with``) cancels the job."""

    def __init__(self, job: _Job[Any, E]) -> None:
        self._job = job

    def __aiter__(self) -> Events[E]:
        return self

    async def __anext__(self) -> E:
        item = await self._job.events.get()
        if isinstance(item, _End):
            self._job.events.put_nowait(item)  # stays ended
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            raise item
        return item

    async def aclose(self) -> None:
        self._job.cancel.set()

    async def __aenter__(self) -> Events[E]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class SlotPool(Generic[M]):
    """``slots`` worker threads, each with an instance made by ``load``, and a queue of at most
    ``max_queue`` waiting jobs; ``name`` appears in thread names and errors."""

    def __init__(self, load: Callable[[], M], *, slots: int, max_queue: int, name: str) -> None:
        self.load, self.slots, self.max_queue, self.name = load, slots, max_queue, name
        self.jobs: queue.Queue[_Job[M, Any] | None] = queue.Queue(maxsize=max_queue)
        self.threads: list[threading.Thread] = []
        self.ready = 0
        self.busy = 0
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._running: set[_Job[M, Any]] = set()

    def start(self) -> None:
        """Start the worker threads (each loads its instance first); idempotent."""
        if self.threads:
            return
        for i in range(self.slots):
            thread = threading.Thread(target=self._serve, name=f"{self.name}-slot-{i}", daemon=True)
            self.threads.append(thread)
            thread.start()

    @property
    def loading(self) -> bool:
        return self.error is None and self.ready < self.slots

    def submit(self, work: Work[M, E]) -> Events[E]:
        """Queue ``work`` for the next free slot; ``ProviderUnavailableError`` (503) when the queue is full."""
        self.start()
        job: _Job[M, E] = _Job(work, asyncio.get_running_loop())
        try:
            self.jobs.put_nowait(job)
        except queue.Full:
            raise ProviderUnavailableError(
                f"{self.name} is at capacity: {self.busy} of {self.slots} slots generating and "
                f"{self.max_queue} requests queued; retry shortly (or raise parallel / max_queue).",
                headers={"Retry-After": "1"},
            ) from None
        return Events(job)

    def stats(self) -> dict[str, int]:
        return {"slots": self.slots, "busy": self.busy, "queued": self.jobs.qsize()}

    def close(self) -> None:
        """Cancel the running jobs and stop the threads once they finish them."""
        with self._lock:
            for job in self._running:
                job.cancel.set()
        for _ in self.threads:
            try:
                self.jobs.put_nowait(None)
            except queue.Full:
                break

    def _serve(self) -> None:
        instance: M | None = None
        try:
            instance = self.load()
        except Exception as exc:  # every job queued from now on gets the load error
            self.error = ProviderUnavailableError(f"{self.name} could not load its model: {exc}")
        with self._lock:
            self.ready += instance is not None
        while (job := self.jobs.get()) is not None:
            if job.cancel.is_set():
                continue
            with self._lock:
                self.busy += 1
                self._running.add(job)
            try:
                _run(job, instance, self.error)
            finally:
                with self._lock:
                    self.busy -= 1
                    self._running.discard(job)


def _run(job: _Job[M, E], instance: M | None, error: BaseException | None) -> None:
    if instance is None:
        job.deliver(error or RuntimeError("no model instance"))
        job.deliver(_END)
        return
    events = job.work(instance, job.cancel)
    try:
        for event in events:
            if not job.deliver(event) or job.cancel.is_set():
                break
    except Exception as exc:
        job.deliver(exc)
    finally:
        events.close()
        job.deliver(_END)
