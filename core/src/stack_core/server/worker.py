"""Entry module for spawned Hypercorn workers: builds the app from the config the parent named."""

from __future__ import annotations

import os

from .serve import WORKER_CONFIG_ENV, without_httpx_cli

without_httpx_cli()
from .app import create_app  # noqa: E402

app = create_app(os.environ[WORKER_CONFIG_ENV])
