from __future__ import annotations

from collections.abc import Callable
from typing import Any

import echo_plugin
import pytest
from in_process import ECHO_CONFIG, running

from stack_core.plugins import PluginSet, discover


@pytest.fixture(scope="session")
def plugins() -> PluginSet:
    return discover({"echo": echo_plugin})


@pytest.fixture
def serve(plugins: PluginSet) -> Callable[..., Any]:
    """``async with serve(config) as client:`` — the app in-process, with lifespan."""
    return lambda config=ECHO_CONFIG: running(config, plugins)
