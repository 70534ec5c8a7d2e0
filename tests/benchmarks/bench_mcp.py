"""MCP tool calls through Stack vs directly with the ``mcp`` client, same run.

    python tests/benchmarks/bench_mcp.py [--calls 200] [--wires mcp,sse] [--rounds 1]

A FastMCP server (tests/support/mcp_servers.py) runs in a subprocess and ``stack run`` in another,
with one ``remote::model-context-protocol`` group on it. For each transport, ``--calls``
sequential ``POST /v1/tool-runtime/invoke`` of ``join(items=["a", "b"])`` (one keep-alive HTTP
client) alternate call by call with the same call made directly on one open ``ClientSession``:
both see the same machine noise. Printed: p50/p95 of each in ms, the per-call overhead of going
through Stack (p50 minus p50), and the floor: p50 of ``GET /v1/toolgroups/{id}`` on the same
client (Stack's own HTTP round trip, no provider call); ``--rounds`` repeats and reports each round and the median
overhead. JSON goes to ``bench-results/mcp-*.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from mcp_servers import mcp_server  # noqa: E402

from stack_core.testing import StackServer  # noqa: E402

CALL = {"tool_name": "join", "kwargs": {"items": ["a", "b"]}}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def one_round(stack_url: str, uri: str, wire: str, calls: int) -> dict[str, Any]:
    opener = sse_client(uri) if wire == "sse" else streamable_http_client(uri)
    through: list[float] = []
    direct: list[float] = []
    floor: list[float] = []
    async with (
        httpx.AsyncClient(base_url=stack_url, timeout=30) as http,
        opener as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        for i in range(calls + 20):  # the first 20 of each warm up and are not counted
            began = time.perf_counter()
            reply = await http.post("/v1/tool-runtime/invoke", json=CALL)
            middle = time.perf_counter()
            result = await session.call_tool("join", {"items": ["a", "b"]})
            ended = time.perf_counter()
            assert (await http.get("/v1/toolgroups/mcp::bench")).status_code == 200
            assert reply.status_code == 200 and reply.json()["content"][0]["text"] == "a,b", reply.text
            assert not result.isError
            if i >= 20:
                through.append((middle - began) * 1000)
                direct.append((ended - middle) * 1000)
                floor.append((time.perf_counter() - ended) * 1000)
    row = {
        "wire": wire,
        "calls": calls,
        "stack_p50": percentile(through, 0.5),
        "stack_p95": percentile(through, 0.95),
        "direct_p50": percentile(direct, 0.5),
        "direct_p95": percentile(direct, 0.95),
        "floor_p50": percentile(floor, 0.5),
    }
    row["overhead_p50"] = row["stack_p50"] - row["direct_p50"]
    return row


def config(url: str, wire: str) -> dict[str, Any]:
    return {
        "version": 2,
        "apis": ["tool_runtime"],
        "providers": {
            "tool_runtime": [{"provider_id": "mcp", "provider_type": "remote::model-context-protocol"}]
        },
        "registered_resources": {
            "tool_groups": [
                {"toolgroup_id": "mcp::bench", "provider_id": "mcp", "mcp_endpoint": {"uri": f"{url}/{wire}"}}
            ]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--wires", default="mcp,sse", help="mcp (streamable HTTP), sse")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="stack-bench-mcp-")
    rows: list[dict[str, Any]] = []
    with mcp_server() as url:
        for wire in args.wires.split(","):
            env = {"STACK_HOME": home, "STACK_PLUGINS": "mcp", "STACK_LOG_LEVEL": "WARNING"}
            with StackServer(config(url, wire), env=env) as stack:
                for _ in range(args.rounds):
                    rows.append(asyncio.run(one_round(stack.url, f"{url}/{wire}", wire, args.calls)))
    print(
        f"{'wire':<6} {'calls':>5} {'stack p50':>9} {'p95':>7} {'direct p50':>10} {'p95':>7} "
        f"{'overhead p50':>12} {'floor p50':>9}"
    )
    for r in rows:
        print(
            f"{r['wire']:<6} {r['calls']:>5} {r['stack_p50']:>9.2f} {r['stack_p95']:>7.2f} "
            f"{r['direct_p50']:>10.2f} {r['direct_p95']:>7.2f} {r['overhead_p50']:>12.2f} {r['floor_p50']:>9.2f}"
        )
    for wire in args.wires.split(","):
        overheads = [r["overhead_p50"] for r in rows if r["wire"] == wire]
        print(
            f"{wire}: median per-call overhead through Stack over {len(overheads)} round(s): "
            f"{statistics.median(overheads):.2f} ms"
        )
    print(
        "times in ms; stack = POST /v1/tool-runtime/invoke to `stack run`; direct = ClientSession.call_tool; "
        "floor = GET /v1/toolgroups/{id} (Stack's HTTP round trip, no provider call)"
    )
    args.out.mkdir(exist_ok=True)
    path = args.out / time.strftime("mcp-%Y%m%d-%H%M%S.json")
    path.write_text(json.dumps({"rows": rows}, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
