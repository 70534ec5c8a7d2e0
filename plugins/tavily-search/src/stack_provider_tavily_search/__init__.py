"""``remote::tavily-search``: the ``builtin::websearch`` tool group through the Tavily Search API."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="tool_runtime",
        provider_type="remote::tavily-search",
        config="stack_provider_tavily_search.config:TavilySearchConfig",
        factory="stack_provider_tavily_search.adapter:create_runtime",
        sample_config={"api_key": "${env.TAVILY_SEARCH_API_KEY}"},
        enable_env="TAVILY_SEARCH_API_KEY",
        description="Web search (builtin::websearch, tool web_search) through the Tavily Search API.",
    )
