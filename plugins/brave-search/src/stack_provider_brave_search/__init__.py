"""``remote::brave-search``: the ``builtin::websearch`` tool group through the Brave Search API."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="tool_runtime",
        provider_type="remote::brave-search",
        config="stack_provider_brave_search.config:BraveSearchConfig",
        factory="stack_provider_brave_search.adapter:create_runtime",
        sample_config={"api_key": "${env.BRAVE_SEARCH_API_KEY}"},
        enable_env="BRAVE_SEARCH_API_KEY",
        description="Web search (builtin::websearch, tool web_search) through the Brave Search API.",
    )
