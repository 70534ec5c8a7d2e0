"""A fake `custom` auth endpoint for tests and benchmarks (aiohttp, real sockets).

    python tests/support/auth_endpoint.py --port 0 [--tokens JSON] [--accept-all]

POST /validate answers the seed's custom-auth contract: for a known token
``{"principal", "access_attributes", "message"}``; unknown tokens get 401 unless --accept-all.
GET /stats counts validations (to check caching). Prints ``READY http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from typing import Any

from aiohttp import web


def build_app(tokens: dict[str, Any], accept_all: bool) -> web.Application:
    stats = {"calls": 0}
    seen: list[dict[str, Any]] = []

    async def validate(request: web.Request) -> web.Response:
        stats["calls"] += 1
        body = await request.json()
        seen.append(body["request"])
        token = body.get("api_key", "")
        if token in tokens:
            return web.json_response({"message": "ok", **tokens[token]})
        if accept_all:
            return web.json_response(
                {"principal": token, "access_attributes": {"roles": ["user"]}, "message": "ok"}
            )
        return web.json_response({"message": "unknown token"}, status=401)

    async def get_stats(_: web.Request) -> web.Response:
        return web.json_response({**stats, "last_request": seen[-1] if seen else None})

    app = web.Application()
    app.router.add_post("/validate", validate)
    app.router.add_get("/stats", get_stats)
    return app


async def serve(port: int, tokens: dict[str, Any], accept_all: bool) -> None:
    runner = web.AppRunner(build_app(tokens, accept_all), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"READY http://127.0.0.1:{bound}", flush=True)
    await asyncio.Event().wait()


def spawn_auth_endpoint(
    tokens: dict[str, Any] | None = None, accept_all: bool = True
) -> tuple[str, subprocess.Popen[str]]:
    command = [sys.executable, __file__, "--port", "0", "--tokens", json.dumps(tokens or {})]
    if accept_all:
        command.append("--accept-all")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    process.stdout.close()
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"auth endpoint failed to start: {line!r}")
    return line.split(" ", 1)[1], process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens", default="{}")
    parser.add_argument("--accept-all", action="store_true")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(serve(args.port, json.loads(args.tokens), args.accept_all))
    except ImportError:
        asyncio.run(serve(args.port, json.loads(args.tokens), args.accept_all))


if __name__ == "__main__":
    main()
