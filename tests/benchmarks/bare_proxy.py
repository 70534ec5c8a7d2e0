"""The floor for the gateway benchmark: the least a gateway on Stack's libraries can do.

    python tests/benchmarks/bare_proxy.py BACKEND_URL PORT STATE_DIR

The libraries Stack's design requires are all loaded (argparse, PyYAML, pydantic, pluggy, httpx,
SQLAlchemy async on SQLite, aiohttp, Starlette, Hypercorn on uvloop), and it does only what any
gateway must: read a config, open a SQL registry, relay requests and SSE streams to one backend
over a pooled aiohttp session, with the same Hypercorn settings as ``stack run``. No routing, no
validation, no errors in the OpenAI shape. ``bench.py`` measures it beside Stack, so Stack's figures
can be read against what its libraries cost on this machine, in the same run. (Stack's upstream
calls no longer go through aiohttp but through its own HTTP/1.1 transport, ``stack_core.http``,
which costs less per call: the floor keeps aiohttp, so Stack can come close to it or pass it.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # as `stack run` does

import aiohttp  # noqa: E402
import httpx  # noqa: E402, F401  # loaded, as in Stack (its upstream client API)
import pluggy  # noqa: E402
import uvloop  # noqa: E402
import yaml  # noqa: E402
from hypercorn.asyncio import serve  # noqa: E402
from hypercorn.config import Config  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from sqlalchemy import Column, MetaData, String, Table, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402


class Settings(BaseModel):
    backend: str
    state_dir: str


REGISTRY = Table("registry", MetaData(), Column("key", String, primary_key=True), Column("body", String))


class Proxy:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: AsyncEngine | None = None
        self.session: aiohttp.ClientSession | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, _: Starlette) -> AsyncIterator[None]:
        self.engine = create_async_engine(f"sqlite+aiosqlite:///{Path(self.settings.state_dir) / 'bare.db'}")
        async with self.engine.begin() as connection:
            await connection.run_sync(REGISTRY.metadata.create_all)
            await connection.execute(select(REGISTRY))
        connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=60.0)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False, trust_env=False)
        yield
        await self.session.close()
        await self.engine.dispose()

    async def relay(self, request: Request) -> Response:
        assert self.session is not None
        body = await request.body()
        upstream = await self.session.request(
            request.method,
            self.settings.backend + request.url.path,
            data=body or None,
            headers={"content-type": "application/json"},
        )
        media = upstream.headers.get("content-type", "application/json")
        if media.startswith("text/event-stream"):

            async def chunks() -> AsyncIterator[bytes]:
                try:
                    async for chunk in upstream.content.iter_any():
                        yield chunk
                finally:
                    upstream.release()

            return StreamingResponse(chunks(), upstream.status, media_type=media)
        data = await upstream.read()
        upstream.release()
        return Response(data, upstream.status, media_type=media)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("backend")
    parser.add_argument("port", type=int)
    parser.add_argument("state_dir")
    args = parser.parse_args()
    settings = Settings.model_validate(
        yaml.safe_load(f"backend: {args.backend.rstrip('/')}\nstate_dir: {args.state_dir}")
    )
    pluggy.PluginManager("bare")
    proxy = Proxy(settings)
    app = Starlette(
        routes=[Route("/v1/{path:path}", proxy.relay, methods=["GET", "POST"])], lifespan=proxy.lifespan
    )
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    config.keep_alive_timeout = 5.0

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    uvloop.run(run())


if __name__ == "__main__":
    main()
