"""Configuration of the Brave Search provider."""

from __future__ import annotations

from pydantic import Field

from stack_core.kits.web_search import WebSearchConfig


class BraveSearchConfig(WebSearchConfig):
    url: str = Field(
        default="https://api.search.brave.com/res/v1",
        description="Brave Search API root; searches go to {url}/web/search.",
    )
