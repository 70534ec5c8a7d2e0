from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import echo_plugin
import httpx
import pytest

from stack_core import create_app
from stack_core.plugins import PluginSet, discover

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


@pytest.fixture(scope="session")
def plugins() -> PluginSet:
    return discover({"echo": echo_plugin})


@asynccontextmanager
async def running(config: Any, plugins: PluginSet) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(config, plugins=plugins)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stack") as client:
            yield client


@pytest.fixture
def serve(plugins: PluginSet) -> Callable[..., Any]:
    """``async with serve(config) as client:`` — the app in-process, with lifespan."""
    return lambda config=ECHO_CONFIG: running(config, plugins)
