"""Brave's web search: ``GET /web/search?q=`` with the key in ``X-Subscription-Token``; results
are the reply's ``web.results`` (description and any extra snippets as the content)."""

from __future__ import annotations

from typing import Any

from stack_core.kits.web_search import SearchHit, SearchRequest, web_search_factory


class BraveSearch:
    title = "Brave Search"
    provider_data_key = "brave_search_api_key"
    key_env = "BRAVE_SEARCH_API_KEY"

    def request(self, query: str, api_key: str, max_results: int) -> SearchRequest:
        return SearchRequest(
            "GET",
            "/web/search",
            headers={"x-subscription-token": api_key},
            params={"q": query, "count": max_results, "text_decorations": "false"},
        )

    def hits(self, reply: Any) -> list[SearchHit]:
        results = (reply.get("web") or {}).get("results") or []
        return [
            SearchHit(
                title=str(r.get("title") or ""),
                url=str(r["url"]),
                content=" ".join([str(r.get("description") or ""), *map(str, r.get("extra_snippets") or ())]),
            )
            for r in results
        ]

    def error_status(self, status: int, body: bytes) -> int:
        # Brave answers an unknown or revoked key with 422 and this code
        return 401 if status == 422 and b"SUBSCRIPTION_TOKEN_INVALID" in body else status


create_runtime = web_search_factory(BraveSearch())
