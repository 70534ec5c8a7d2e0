"""remote::tavily-search against the fake Tavily API: conformance, SDK, keys and failures."""

from __future__ import annotations

from search_cases import QUERY, WebSearchCases

from stack_core.testing import StackServer


class TestTavilySearch(WebSearchCases):
    provider_type = "remote::tavily-search"
    service = "tavily"
    api_root = "/tavily"
    provider_data_key = "tavily_search_api_key"
    first_hit = {
        "title": f"{QUERY} result 1",
        "url": "https://example.com/llama-facts/1",
        "content": f"All about {QUERY} & more, part 1.",
        "score": 0.95,
    }

    def test_a_spent_plan_is_a_429(self, server: StackServer) -> None:
        response = self.search(server, "fake:plan-limit")
        assert response.status_code == 429 and "usage limit" in response.json()["error"]["message"]
