"""The kernel's outbound transport leans on one private aiohttp method: fail loudly if it changes."""

from __future__ import annotations

import inspect

import aiohttp


def test_the_private_aiohttp_request_method_still_takes_what_the_transport_passes() -> None:
    """``AiohttpTransport`` calls ``ClientSession._request(method, url, headers=, data=,
    allow_redirects=, timeout=)`` to skip the public wrapper's per-call overhead. If this fails after
    an aiohttp upgrade, update ``stack_core.http`` (or the version bound in core's pyproject)."""
    parameters = inspect.signature(aiohttp.ClientSession._request).parameters
    positional = [p for p in parameters.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in positional[:3]] == ["self", "method", "str_or_url"], aiohttp.__version__
    missing = {"headers", "data", "allow_redirects", "timeout"} - set(parameters)
    assert not missing, f"aiohttp {aiohttp.__version__}: ClientSession._request lost {sorted(missing)}"
    assert inspect.iscoroutinefunction(aiohttp.ClientSession._request)
