"""The HTTP server: a pure-Starlette ASGI app built from the API declarations."""

from .app import create_app

__all__ = ["create_app"]
