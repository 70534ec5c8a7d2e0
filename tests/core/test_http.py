"""The kernel's outbound transport leans on one private aiohttp method: fail loudly if it changes.
Upstream error bodies are read down to their message, however the service nests it."""

from __future__ import annotations

import inspect

import aiohttp
import pytest

from stack_core.http import error_message


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


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"error": {"message": "model x not found", "type": "invalid_request_error"}}',
            "model x not found",
        ),
        (b'{"detail": {"error": "Unauthorized: missing or invalid API key."}}', "Unauthorized: missing"),
        (b'{"type": "ErrorResponse", "error": {"code": "RATE_LIMITED", "detail": "Slow down"}}', "Slow down"),
        (b'{"error": "overloaded"}', "overloaded"),
        (b'{"status": "bad"}', "{'status': 'bad'}"),
        (b"<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"),
    ],
)
def test_error_message_finds_the_innermost_message(body: bytes, message: str) -> None:
    assert error_message(body).startswith(message)
