"""Entry module for spawned Hypercorn workers: builds the app from the config the parent named."""

from __future__ import annotations

import os

from .app import create_app
from .serve import WORKER_CONFIG_ENV

app = create_app(os.environ[WORKER_CONFIG_ENV])
