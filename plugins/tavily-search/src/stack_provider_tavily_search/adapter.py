"""Tavily's search: ``POST /search`` with a Bearer key and ``{"query", "max_results"}``; results
are the reply's ``results`` with their relevance scores."""

from __future__ import annotations

from typing import Any

from stack_core.kits.web_search import SearchHit, SearchRequest, web_search_factory

PLAN_LIMITS = frozenset({432, 433})  # the plan's or the pay-as-you-go credit limit is reached


class TavilySearch:
    title = "Tavily"
    provider_data_key = "tavily_search_api_key"
    key_env = "TAVILY_SEARCH_API_KEY"

    def request(self, query: str, api_key: str, max_results: int) -> SearchRequest:
        return SearchRequest(
            "POST",
            "/search",
            headers={"authorization": f"Bearer {api_key}"},
            json={"query": query, "max_results": max_results},
        )

    def hits(self, reply: Any) -> list[SearchHit]:
        return [
            SearchHit(
                title=str(r.get("title") or ""),
                url=str(r["url"]),
                content=str(r.get("content") or ""),
                score=float(r["score"]) if r.get("score") is not None else None,
            )
            for r in reply.get("results") or []
        ]

    def error_status(self, status: int, body: bytes) -> int:
        return 429 if status in PLAN_LIMITS else status


create_runtime = web_search_factory(TavilySearch())
