"""The app in-process for kernel tests: the echo plugin's config and a client over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from stack_core import create_app
from stack_core.plugins import PluginSet

ECHO_CONFIG: dict[str, Any] = {
    "version": 2,
    "apis": ["echo"],
    "providers": {
        "echo": [
            {
                "provider_id": "echo-a",
                "provider_type": "inline::echo",
                "config": {"prefix": "A:", "api_key": "sk-a"},
            },
            {"provider_id": "echo-b", "provider_type": "inline::echo", "config": {"prefix": "B:"}},
        ]
    },
    "registered_resources": {"voices": [{"voice_id": "alto", "provider_id": "echo-a"}]},
}


@asynccontextmanager
async def running(config: Any, plugins: PluginSet) -> AsyncIterator[httpx.AsyncClient]:
    """The app built from ``config`` and started (lifespan), with a client over ASGI."""
    app = create_app(config, plugins=plugins)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stack") as client:
            yield client
