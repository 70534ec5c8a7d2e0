"""What dispatch costs per call, in-process: a provider method called directly (the floor), the
routed handler the kernel built for it with no provider-call wrapper installed, and the same
handler with one pass-through ``stack_provider_call`` wrapper.

    python tests/benchmarks/bench_dispatch.py [--calls 20000]

Medians of five rounds, interleaved, in microseconds per call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Awaitable, Callable, Generator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import echo_plugin  # noqa: E402

from stack_core import ProviderCall, create_app, hookimpl  # noqa: E402
from stack_core.plugins import discover  # noqa: E402

CONFIG = {
    "providers": {"echo": [{"provider_id": "e", "provider_type": "inline::echo"}]},
    "registered_resources": {"voices": [{"voice_id": "alto"}]},
}


@hookimpl(wrapper=True)
def stack_provider_call(call: ProviderCall) -> Generator[None, Awaitable[Any], Awaitable[Any]]:
    awaitable = yield
    return awaitable


passthrough = types.ModuleType("passthrough")
passthrough.stack_provider_call = stack_provider_call  # type: ignore[attr-defined]


async def per_call_us(call: Callable[[Any], Awaitable[Any]], request: Any, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await call(request)
    return (time.perf_counter() - start) / calls * 1e6


async def main(calls: int) -> None:
    request = echo_plugin.EchoRequest(voice="alto", text="hi")
    rounds: dict[str, list[float]] = {
        "provider method": [],
        "handler, no wrapper": [],
        "handler, one wrapper": [],
    }
    apps = {}
    for name, extra in (("plain", {}), ("wrapped", {"passthrough": passthrough})):
        app = create_app(CONFIG, plugins=discover({"echo": echo_plugin, **extra}))
        apps[name] = app
    plain_app, wrapped_app = apps["plain"], apps["wrapped"]
    async with plain_app.router.lifespan_context(plain_app), wrapped_app.router.lifespan_context(wrapped_app):
        plain, wrapped = plain_app.state.stack, wrapped_app.state.stack
        method = plain.instances("echo")[0].impl.echo
        for _ in range(5):
            rounds["provider method"].append(await per_call_us(method, request, calls))
            rounds["handler, no wrapper"].append(
                await per_call_us(plain.slot("echo", "echo").handler, request, calls)
            )
            rounds["handler, one wrapper"].append(
                await per_call_us(wrapped.slot("echo", "echo").handler, request, calls)
            )
    for name, values in rounds.items():
        print(
            f"{name:22} {statistics.median(values):7.2f} us/call  (rounds: {', '.join(f'{v:.2f}' for v in values)})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    import os

    os.environ.setdefault("STACK_HOME", tempfile.mkdtemp())
    asyncio.run(main(args.calls))
