"""Configuration of the Tavily Search provider."""

from __future__ import annotations

from pydantic import Field

from stack_core.kits.web_search import WebSearchConfig


class TavilySearchConfig(WebSearchConfig):
    url: str = Field(
        default="https://api.tavily.com", description="Tavily API root; searches go to {url}/search."
    )
