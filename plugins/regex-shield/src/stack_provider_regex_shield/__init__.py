"""``inline::regex``: offline shields from regex, keyword and PII rules (no model needed)."""

from __future__ import annotations

from stack_core import ProviderContext, RegisterProvider, hookimpl

from .config import RegexShieldConfig


def create(config: RegexShieldConfig, context: ProviderContext) -> object:
    """Imports the adapter (and its dependencies) only when this provider is configured."""
    from .adapter import create_provider

    return create_provider(config, context)


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="safety",
        provider_type="inline::regex",
        config=RegexShieldConfig,
        factory=create,
        description="Offline regex / keyword / PII shields; serves the regex-guard shield by default.",
    )
