"""``GET /docs``: Swagger UI over ``/openapi.json``, its assets served from the ``swagger-ui-py``
package's static files (Swagger UI 5, which reads OpenAPI 3.1), so the page needs no CDN.

The page and its assets are public (``PUBLIC_PATHS`` in ``auth``): they hold nothing of the
deployment. ``/openapi.json`` is not: with ``server.auth`` on, the page shows the 401 it gets.
"""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from ..errors import NotFoundError

__all__ = ["DOCS_PATHS", "docs_routes"]

ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
DOCS_PATHS = frozenset({"/docs", *(f"/docs/{name}" for name in ASSETS)})

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Stack API</title>
  <link rel="icon" type="image/png" href="{root}/docs/favicon-32x32.png">
  <link rel="stylesheet" href="{root}/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{root}/docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{root}/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    }});
  </script>
</body>
</html>
"""


def _static_dir() -> Path:
    """swagger-ui-py's ``static`` directory, found without importing the package (whose
    ``__init__`` loads its framework handlers)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise NotFoundError("The API docs page needs the swagger-ui-py package: pip install swagger-ui-py")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


async def _page(request: Request) -> Response:
    _static_dir()
    return HTMLResponse(PAGE.format(root=html.escape(request.scope.get("root_path", "").rstrip("/"))))


async def _asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        raise NotFoundError(f"No docs asset named {name!r}.")
    return FileResponse(_static_dir() / name, media_type=ASSETS[name])


def docs_routes() -> list[BaseRoute]:
    """The ``/docs`` page and its assets."""
    return [Route("/docs", _page, methods=["GET"]), Route("/docs/{name}", _asset, methods=["GET"])]
