"""Mount Stack inside another ASGI app, under /llm.

    pip install ./core ./plugins/vllm
    VLLM_URL=http://gpu:8000/v1 hypercorn examples.asgi_mount:app

Starlette does not forward lifespan events to mounted apps, so the host chains Stack's lifespan
(otherwise Stack starts on its first request and never shuts its providers down cleanly).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from stack_core import create_app, find_config

stack = create_app(find_config("starter"))  # the starter distribution shipped in stack-core


@contextlib.asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    async with stack.router.lifespan_context(stack):
        yield


async def home(_: object) -> PlainTextResponse:
    return PlainTextResponse("my app; the LLM API lives under /llm/v1")


app = Starlette(routes=[Route("/", home), Mount("/llm", app=stack)], lifespan=lifespan)
