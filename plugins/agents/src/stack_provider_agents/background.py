"""Background responses (``background: true``) on the stack's durable jobs.

Creating one stores it ``queued`` with its input and submits a job of kind ``responses.background``
(id ``job_<response id>``; params: the response id and the request). Whichever server process
claims the job runs the turn as the response's owner, storing the response ``in_progress`` and
then as it ended (``completed``, ``incomplete``, ``failed``); ``GET /v1/responses/{id}`` polls it.
A process that stops or dies hands the job on and the turn runs again from the start: a response
still ``queued`` or ``in_progress`` is rerun, a finished one is left as it is.

Cancelling cancels the job: a queued job never runs; a running one is stopped where it is (here at
once, in another process at its next progress report or lease renewal) and the response is stored
``cancelled`` with the output it had. The request is the job's params without its MCP tools'
credentials (``headers``, ``authorization``): those are the job's sealed secrets, deleted when
it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from typing import Any

from stack_core import BadRequestError, JobHandle, JobService, UnsupportedError
from stack_core.apis.responses import CreateResponseRequest, McpTool, Response, ResponseEvent

from .store import ResponseStore, Stored

KIND = "responses.background"
RUNNING = ("queued", "in_progress")
Turn = Callable[[CreateResponseRequest, Stored], AsyncGenerator[ResponseEvent, None]]
"""Runs a stored response's turn, folding it into ``stored.response`` and storing it as it ends;
its stream events."""


def job_id(response_id: str) -> str:
    return f"job_{response_id}"


def _split(request: CreateResponseRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request as JSON without its MCP tools' credentials, and those (by tool position)."""
    credentials: dict[str, Any] = {}
    tools = []
    for n, tool in enumerate(request.tools):
        if isinstance(tool, McpTool) and (tool.headers or tool.authorization):
            credentials[str(n)] = {"headers": tool.headers, "authorization": tool.authorization}
            tool = tool.without_credentials()
        tools.append(tool)
    shown = request.model_copy(update={"tools": tools}).model_dump(mode="json")
    return shown, {"mcp": credentials} if credentials else {}


def _joined(shown: dict[str, Any], secrets: dict[str, Any]) -> CreateResponseRequest:
    request = CreateResponseRequest.model_validate(shown)
    credentials = secrets.get("mcp", {})
    tools = [
        tool.model_copy(update=credentials[str(n)]) if str(n) in credentials else tool
        for n, tool in enumerate(request.tools)
    ]
    return request.model_copy(update={"tools": tools})


class Background:
    def __init__(self, jobs: JobService | None, store: ResponseStore, turn: Turn, concurrency: int) -> None:
        self.jobs, self.store, self.turn, self.concurrency = jobs, store, turn, concurrency

    def _jobs(self) -> JobService:
        if self.jobs is None:
            raise UnsupportedError("background responses need the stack's job service.", param="background")
        return self.jobs

    def register(self) -> None:
        """Run background responses in this process (``concurrency`` at a time)."""
        if self.jobs is not None:
            self.jobs.register(KIND, self.run, concurrency=self.concurrency)

    async def submit(self, request: CreateResponseRequest, stored: Stored) -> Response:
        """Store the response ``queued`` and queue its turn; the response as stored."""
        jobs = self._jobs()
        queued = Stored(
            stored.response.model_copy(update={"status": "queued", "background": True}), stored.input
        )
        await self.store.save(queued)
        shown, secrets = _split(request)
        params = {"response_id": queued.response.id, "request": shown}
        await jobs.submit(KIND, params, job_id=job_id(queued.response.id), secrets=secrets)
        return queued.response

    async def run(self, job: JobHandle) -> dict[str, Any]:
        """The job runner: the turn of a response still to be answered."""
        stored = await self.store.get(job.params["response_id"])
        if stored.response.status not in RUNNING:
            return {"status": stored.response.status}
        request = _joined(job.params["request"], await job.secrets())
        response = stored.response.model_copy(update={"status": "in_progress", "output": []})
        running = Stored(response, stored.input)
        await self.store.save(running, exists=True)
        done = 0
        try:
            async with contextlib.aclosing(self.turn(request, running)) as events:
                async for event in events:
                    if event.type == "response.output_item.done":
                        done += 1
                        await job.progress(done)
        except asyncio.CancelledError:
            if job.stop_reason == "cancelled":  # the renderer folded the output so far into it
                await self._cancelled(running)
            raise
        return {"status": response.status}

    async def cancel(self, response_id: str) -> Response:
        stored = await self.store.get(response_id)
        if not stored.response.background:
            raise BadRequestError(
                "Only responses created with background=true can be cancelled.", param="response_id"
            )
        if stored.response.status in RUNNING:
            await self._jobs().cancel(job_id(response_id), check_access=False)
            stored = await self.store.get(response_id)
            if stored.response.status in RUNNING:  # queued, or running in another process
                await self._cancelled(stored)
                stored = await self.store.get(response_id)
        return stored.response

    async def _cancelled(self, stored: Stored) -> None:
        response = stored.response.model_copy(update={"status": "cancelled"})
        await self.store.save(Stored(response, stored.input), exists=True)
