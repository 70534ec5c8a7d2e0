"""``inline::builtin`` for the ``responses`` API: the OpenAI Responses API over the agent loop
(shields, inference, server tools through the Tool Runtime and Vector stores APIs); and for the
``conversations`` API, whose conversations responses read and extend."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="responses",
        provider_type="inline::builtin",
        config="stack_provider_agents.config:AgentsConfig",
        factory="stack_provider_agents.adapter:create_adapter",
        deps=("inference",),
        optional_deps=("tool_runtime", "vector_stores", "safety"),
        description="OpenAI Responses: the agent loop with function, file_search, mcp and web_search tools.",
    )
    register(
        api="conversations",
        provider_type="inline::builtin",
        config="stack_provider_agents.config:ConversationsConfig",
        factory="stack_provider_agents.conversations:ConversationsAdapter",
        description="OpenAI Conversations: stored item lists, extended by responses made in them.",
    )
