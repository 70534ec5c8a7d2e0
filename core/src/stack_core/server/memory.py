"""Handing memory back to the system once a burst of traffic is over.

After a burst, glibc keeps the heap pages its requests freed: it only gives back the top of the
heap, and anything above a live allocation stays resident. A server that has been idle for a
couple of seconds calls ``malloc_trim(0)`` once, which returns every free page, so its idle RSS is
what it holds rather than its busiest moment. On other C libraries this is a no-op.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["IDLE_SECONDS", "malloc_trim", "trim_when_idle"]

IDLE_SECONDS = 2.0


def malloc_trim() -> Callable[[], object] | None:
    """``malloc_trim(0)`` of the C library, or None where there is none (musl, macOS)."""
    try:
        import ctypes

        trim = ctypes.CDLL(None).malloc_trim
    except (ImportError, OSError, AttributeError):
        return None
    return lambda: trim(0)


async def trim_when_idle(
    requests: Callable[[], int], trim: Callable[[], object], interval: float = IDLE_SECONDS
) -> None:
    """Every ``interval`` seconds look at the request count; trim at the first quiet look after
    start-up and after each burst (once: not on every quiet look). Runs until cancelled."""
    seen, trimmed = requests(), False
    while True:
        await asyncio.sleep(interval)
        count = requests()
        if count != seen:
            seen, trimmed = count, False
        elif not trimmed:
            trim()
            trimmed = True
