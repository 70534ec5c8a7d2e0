"""The kernel's outbound HTTP client: httpx's API over the aiohttp transport, pooled.

Measured on this project's machine class, httpx's default transport costs ~4 ms of CPU per proxied
request under concurrency; the aiohttp transport ~0.8 ms. Every upstream call goes through here.
"""

from __future__ import annotations

import ssl

import httpx

__all__ = ["pooled_client", "pooled_transport"]


def pooled_transport(*, verify: bool | str = True, max_connections: int = 512) -> httpx.AsyncBaseTransport:
    """The aiohttp transport with a large keep-alive pool. Create it inside the event loop."""
    from httpx_aiohttp import AiohttpTransport

    context: ssl.SSLContext | bool = (
        verify if isinstance(verify, bool) else ssl.create_default_context(cafile=verify)
    )
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=60
    )
    return AiohttpTransport(limits=limits, trust_env=False, verify=context)


def pooled_client(
    *,
    base_url: str = "",
    timeout: httpx.Timeout | float = 30.0,
    verify: bool | str = True,
    max_connections: int = 512,
) -> httpx.AsyncClient:
    """A pooled ``httpx.AsyncClient`` on the aiohttp transport. Create it inside the event loop."""
    from httpx_aiohttp import AiohttpTransport

    context: ssl.SSLContext | bool = (
        verify if isinstance(verify, bool) else ssl.create_default_context(cafile=verify)
    )
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=60
    )
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits, trust_env=False, verify=context),
        base_url=base_url,
        timeout=timeout,
    )
