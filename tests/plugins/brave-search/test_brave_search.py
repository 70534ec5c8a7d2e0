"""remote::brave-search against the fake Brave API: conformance, SDK, keys and failures."""

from __future__ import annotations

from search_cases import QUERY, WebSearchCases
from stack_provider_brave_search.adapter import BraveSearch


class TestBraveSearch(WebSearchCases):
    provider_type = "remote::brave-search"
    service = "brave"
    api_root = "/brave/res/v1"
    provider_data_key = "brave_search_api_key"
    first_hit = {
        "title": f"{QUERY} result 1",
        "url": "https://example.com/llama-facts/1",
        "content": f"All about {QUERY} & more, part 1. extra",
    }


def test_an_invalid_subscription_token_means_the_key_was_refused() -> None:
    brave = BraveSearch()
    assert brave.error_status(422, b'{"error": {"code": "SUBSCRIPTION_TOKEN_INVALID"}}') == 401
    assert brave.error_status(422, b'{"error": {"code": "VALIDATION"}}') == 422
