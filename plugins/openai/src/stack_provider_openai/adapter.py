"""Every hosted service speaks the OpenAI API: the kernel's composed adapter is all it takes."""

from __future__ import annotations

from stack_core.openai_compat import openai_compat_factory

create_adapter = openai_compat_factory()
