"""``inline::regex``: offline shields from regex, keyword and PII rules (no model needed)."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="safety",
        provider_type="inline::regex",
        config="stack_provider_regex_shield.config:RegexShieldConfig",
        factory="stack_provider_regex_shield.adapter:create_provider",
        description="Offline regex / keyword / PII shields; serves the regex-guard shield by default.",
    )
