"""Configuration of the basic scoring provider (it has nothing to configure)."""

from __future__ import annotations

from stack_core import ConfigModel


class BasicScoringConfig(ConfigModel):
    pass
