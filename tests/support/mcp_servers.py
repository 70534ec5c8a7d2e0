"""A real MCP server for tests and benchmarks: FastMCP (the ``mcp`` package) on one port, serving
SSE at ``/sse`` and streamable HTTP at ``/mcp``.

    python tests/support/mcp_servers.py --port 0 [--prefix c_]

Its tools cover the schema shapes tool runtimes get wrong: a nested object (a pydantic model
argument), an array, ``$ref`` to shared ``$defs`` (two arguments of one model type, an enum), no
arguments at all; and one that raises, one that sleeps, one that reports a header of the request
it came in, an image and an embedded resource; and one listed only to an admin's requests. ``--prefix`` prefixes every tool name (two servers
whose tools differ). ``GET /stats`` counts the distinct client sessions that called ``ping``.
Prints ``READY URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from mcp.server.fastmcp import Context, FastMCP, Image
from mcp.types import EmbeddedResource, TextContent, TextResourceContents, ToolAnnotations
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class Point(BaseModel):
    x: float
    y: float


class Place(BaseModel):
    name: str = Field(description="What the place is called.")
    at: Point
    tags: list[str] = Field(default_factory=list)


class Color(StrEnum):
    red = "red"
    green = "green"


def build_server(prefix: str = "") -> FastMCP[Any]:
    server = FastMCP("stack-test-tools", log_level="CRITICAL")
    sessions: set[int] = set()

    def tool(description: str, **more: Any) -> Callable[[Callable[..., Any]], Any]:
        return lambda fn: server.tool(name=prefix + fn.__name__, description=description, **more)(fn)

    @tool(description="Describe a place: a nested object argument.")
    def describe(place: Place) -> str:
        return f"{place.name} at ({place.at.x}, {place.at.y}) tagged {','.join(place.tags) or '-'}"

    @tool(description="Join strings: an array argument.")
    def join(items: list[str], sep: str = ",") -> str:
        return sep.join(items)

    @tool(description="Distance between two points: both arguments $ref one definition.")
    def distance(a: Point, b: Point) -> float:
        return float(((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5)

    @tool(description="Name a colour: an enum argument.")
    def paint(color: Color) -> str:
        return f"painted {color.value}"

    @tool(description="No arguments.", title="Ping", annotations=ToolAnnotations(readOnlyHint=True))
    def ping(ctx: Context[Any, Any, Any]) -> str:
        sessions.add(id(ctx.session))
        return "pong"

    @tool(description="Always fails.")
    def explode(reason: str = "boom") -> str:
        raise ValueError(f"exploded: {reason}")

    @tool(description="Sleep, then answer.")
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return f"slept {seconds}"

    @tool(description="A header of the HTTP request that carried this call ('' if absent).")
    def header(name: str, ctx: Context[Any, Any, Any]) -> str:
        headers = getattr(ctx.request_context.request, "headers", None)
        return str(headers.get(name, "")) if headers is not None else ""

    @tool(description="A one-pixel PNG.")
    def pixel() -> Image:
        return Image(data=PNG, format="png")

    @tool(description="Text and an embedded text resource.")
    def document() -> list[TextContent | EmbeddedResource]:
        resource = TextResourceContents(uri="file:///notes.txt", mimeType="text/plain", text="the notes")  # type: ignore[arg-type]
        return [TextContent(type="text", text="see"), EmbeddedResource(type="resource", resource=resource)]

    @tool(description="Listed only to callers sending 'Authorization: Bearer admin'.")
    def vault() -> str:
        return "the vault"

    listed = server.list_tools

    async def list_tools() -> list[Any]:  # per caller, as servers that authorize each caller do
        request = server.get_context().request_context.request
        admin = request is not None and request.headers.get("authorization") == "Bearer admin"
        return [t for t in await listed() if admin or t.name != prefix + "vault"]

    server._mcp_server.list_tools()(list_tools)

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse({"sessions": len(sessions)})

    server.custom_route("/stats", methods=["GET"])(stats)
    return server


def build_app(prefix: str = "") -> Starlette:
    """One Starlette app with the SSE routes and the streamable HTTP route of one FastMCP, and
    the same two endpoints under paths that name no transport: ``/events`` (SSE) and ``/rpc``."""
    server = build_server(prefix)
    sse, http = server.sse_app(), server.streamable_http_app()
    routes = [*sse.routes, *http.routes]
    aliases = {"/sse": "/events", "/mcp": "/rpc"}
    routes += [
        Route(aliases[r.path], endpoint=r.endpoint, methods=r.methods)
        for r in routes
        if isinstance(r, Route) and r.path in aliases
    ]
    return Starlette(routes=routes, lifespan=lambda app: server.session_manager.run())


def main() -> None:
    import socket

    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restarted on the same port
    sock.bind(("127.0.0.1", args.port))
    config = uvicorn.Config(build_app(args.prefix), log_level="warning", lifespan="on")
    uv_server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(uv_server.serve(sockets=[sock]))
        while not uv_server.started:  # noqa: ASYNC110 (uvicorn offers no started event)
            await asyncio.sleep(0.01)
        print(f"READY http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
        await task

    asyncio.run(serve())


@contextmanager
def mcp_server(port: int = 0, prefix: str = "") -> Iterator[str]:
    """The server in a subprocess; yields its base URL (append ``/sse`` or ``/mcp``)."""
    with mcp_server_process(port, prefix) as (url, _):
        yield url


@contextmanager
def mcp_server_process(port: int = 0, prefix: str = "") -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The server in a subprocess, and the process (to kill it mid-call)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--port", str(port), "--prefix", prefix], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline().strip()
        if not line.startswith("READY "):
            raise RuntimeError(f"the MCP test server failed to start: {line!r}")
        yield line.split(" ", 1)[1], process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


if __name__ == "__main__":
    main()
