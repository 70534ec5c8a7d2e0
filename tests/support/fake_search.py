"""A fake of the Brave and Tavily search APIs on a real socket (aiohttp in a background thread).

``GET /brave/res/v1/web/search?q=&count=`` (key in ``X-Subscription-Token``; a wrong key is Brave's
422 ``SUBSCRIPTION_TOKEN_INVALID``) and ``POST /tavily/search`` (``Authorization: Bearer``,
``{"query", "max_results"}``; a wrong key is a 401). Results are canned from the query: result
``i`` of "q" is titled ``<b>q</b> result i`` with HTML in its snippet, as the real services send.
Some queries are faults: ``fake:rate-limit`` (429, ``Retry-After: 7``), ``fake:slow`` (answers
after ``slow_s``), ``fake:plan-limit`` (Tavily's 432), ``fake:garbage`` (not JSON),
``fake:empty`` (no results). ``requests`` records (service, key, query, limit) per call::

    with FakeSearch(keys={"k1"}) as fake:
        brave_url, tavily_url = f"{fake.url}/brave/res/v1", f"{fake.url}/tavily"
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, NamedTuple

from aiohttp import web
from background import BackgroundServer

RESULTS = 10


class Seen(NamedTuple):
    service: str
    key: str
    query: str
    limit: int


def slug(query: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")


def canned(query: str, count: int) -> list[dict[str, Any]]:
    """The results for ``query``: title, url, an HTML snippet, a falling score."""
    if query == "fake:empty":
        return []
    return [
        {
            "title": f"<b>{query}</b> result {i}",
            "url": f"https://example.com/{slug(query)}/{i}",
            "snippet": f"All about <strong>{query}</strong> &amp; more,\n  part {i}.",
            "score": round(1 - i / 20, 2),
        }
        for i in range(1, min(count, RESULTS) + 1)
    ]


class FakeSearch(BackgroundServer):
    def __init__(self, keys: set[str], slow_s: float = 3.0) -> None:
        self.keys, self.slow_s = keys, slow_s
        self.requests: list[Seen] = []
        super().__init__()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/brave/res/v1/web/search", self._brave)
        app.router.add_post("/tavily/search", self._tavily)
        return app

    async def _fault(self, query: str) -> web.Response | None:
        if query == "fake:rate-limit":
            return web.json_response(
                {"error": {"detail": "Too many requests"}}, status=429, headers={"Retry-After": "7"}
            )
        if query == "fake:plan-limit":
            return web.json_response(
                {"detail": {"error": "This request exceeds your plan's set usage limit."}}, status=432
            )
        if query == "fake:garbage":
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        if query == "fake:slow":
            await asyncio.sleep(self.slow_s)
        return None

    async def _brave(self, request: web.Request) -> web.Response:
        key, query = request.headers.get("X-Subscription-Token", ""), request.query.get("q", "")
        count = int(request.query.get("count", "20"))
        self.requests.append(Seen("brave", key, query, count))
        if key not in self.keys:
            error = {
                "code": "SUBSCRIPTION_TOKEN_INVALID",
                "detail": "The provided subscription token is invalid.",
            }
            return web.json_response({"type": "ErrorResponse", "error": {**error, "status": 422}}, status=422)
        fault = await self._fault(query)
        if fault is not None:
            return fault
        results = [
            {
                "title": r["title"],
                "url": r["url"],
                "description": r["snippet"],
                "extra_snippets": ["<i>extra</i>"],
            }
            for r in canned(query, count)
        ]
        return web.json_response(
            {"type": "search", "query": {"original": query}, "web": {"type": "search", "results": results}}
        )

    async def _tavily(self, request: web.Request) -> web.Response:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        body = await request.json()
        query, count = str(body.get("query", "")), int(body.get("max_results", 5))
        self.requests.append(Seen("tavily", key, query, count))
        if scheme != "Bearer" or key not in self.keys:
            return web.json_response(
                {"detail": {"error": "Unauthorized: missing or invalid API key."}}, status=401
            )
        fault = await self._fault(query)
        if fault is not None:
            return fault
        results = [
            {
                "title": r["title"],
                "url": r["url"],
                "content": r["snippet"],
                "score": r["score"],
                "raw_content": None,
            }
            for r in canned(query, count)
        ]
        return web.json_response({"query": query, "answer": None, "results": results, "response_time": 0.01})
