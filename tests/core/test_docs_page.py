"""GET /docs: Swagger UI over /openapi.json, every asset it references served by the app itself."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

REFERENCED = re.compile(r'(?:src|href)="([^"]+)"')
TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}


async def test_the_page_and_every_asset_it_references_are_served(serve: Any) -> None:
    async with serve() as client:
        page = await client.get("/docs")
        assets = {url: await client.get(url) for url in REFERENCED.findall(page.text)}
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'url: "/openapi.json"' in page.text
    assert len(assets) == 3 and all(url.startswith("/docs/") for url in assets)  # no CDN
    for url, response in assets.items():
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith(TYPES[PurePosixPath(url).suffix]), url
    assert b"SwaggerUIBundle" in assets["/docs/swagger-ui-bundle.js"].content


async def test_only_the_named_assets_are_served(serve: Any) -> None:
    async with serve() as client:
        other = await client.get("/docs/swagger-editor-bundle.js")
        escape = await client.get("/docs/..%2F__init__.py")
    assert other.status_code == 404 and escape.status_code == 404
