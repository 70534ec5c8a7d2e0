"""``inline::regex``: offline shields from regex, keyword and PII rules (no model needed)."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl

from .adapter import create_provider
from .config import RegexShieldConfig


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="safety",
        provider_type="inline::regex",
        config=RegexShieldConfig,
        factory=create_provider,
        description="Offline regex / keyword / PII shields; serves the regex-guard shield by default.",
    )
