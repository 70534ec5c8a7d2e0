"""Micro-batching: concurrent requests for one model share a forward pass in a worker thread."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Encode = Callable[[list[str]], NDArray[np.float32]]


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future[NDArray[np.float32]]


class Batcher:
    """Collects texts for up to ``max_wait`` seconds (or ``batch_size`` texts), encodes them in a
    thread, and hands each request its rows."""

    def __init__(self, encode: Encode, batch_size: int, max_wait: float) -> None:
        self.encode, self.batch_size, self.max_wait = encode, batch_size, max_wait
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.worker: asyncio.Task[None] | None = None

    async def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._run(), name="embedding-batcher")
        future: asyncio.Future[NDArray[np.float32]] = asyncio.get_running_loop().create_future()
        await self.queue.put(_Job(list(texts), future))
        return await future

    async def _collect(self) -> list[_Job]:
        jobs = [await self.queue.get()]
        count = len(jobs[0].texts)
        deadline = asyncio.get_running_loop().time() + self.max_wait
        while count < self.batch_size:
            timeout = deadline - asyncio.get_running_loop().time()
            if timeout <= 0 and self.queue.empty():
                break
            try:
                job = (
                    self.queue.get_nowait()
                    if timeout <= 0
                    else await asyncio.wait_for(self.queue.get(), timeout)
                )
            except (TimeoutError, asyncio.QueueEmpty):
                break
            jobs.append(job)
            count += len(job.texts)
        return jobs

    async def _run(self) -> None:
        while True:
            jobs = await self._collect()
            texts = [t for job in jobs for t in job.texts]
            try:
                vectors = await asyncio.to_thread(self.encode, texts)
            except Exception as exc:
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            start = 0
            for job in jobs:
                end = start + len(job.texts)
                if not job.future.done():
                    job.future.set_result(vectors[start:end])
                start = end

    async def close(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.worker
