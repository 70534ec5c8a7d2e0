"""The agent loop (shields, inference, server tools through the Tool Runtime and Vector stores
APIs) served as three APIs: ``inline::builtin`` for ``responses`` (the OpenAI Responses API) and
``conversations`` (stored item lists that responses read and extend), and
``inline::meta-reference`` for ``agents`` (the Llama Stack 0.2 Agents API)."""

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
        api="agents",
        provider_type="inline::meta-reference",
        config="stack_provider_agents.config:MetaReferenceConfig",
        factory="stack_provider_agents.agents:AgentsAdapter",
        deps=("inference",),
        optional_deps=("tool_runtime", "safety", "files"),
        description="Llama Stack 0.2 agents: sessions of turns with tool groups, client tools and shields.",
    )
    register(
        api="conversations",
        provider_type="inline::builtin",
        config="stack_provider_agents.config:ConversationsConfig",
        factory="stack_provider_agents.conversations:ConversationsAdapter",
        description="OpenAI Conversations: stored item lists, extended by responses made in them.",
    )
