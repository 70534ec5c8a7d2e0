"""``${env.X}`` substitution in run configs, following the run-config guide.

- ``${env.X}``: the value of X; an error naming X (and the YAML path) if X is unset.
- ``${env.X:=default}``: X if set and non-empty, else ``default``; an empty default gives None.
- ``${env.X:+value}``: ``value`` if X is set and non-empty, else None.
- ``${env.X:-default}`` and ``${env.X:default}``: the same as ``:=`` (``${env.MODEL:__disabled__}``).
- A string that is exactly one placeholder takes a typed value: ``true``/``false`` → bool,
  integers → int, decimals → float, empty → None. Placeholders inside longer strings interpolate.
- ``__disabled__`` as a value marks the enclosing provider or resource entry as skipped.

``substitute`` also records the text each typed value came from, so config validation can give a
string field back its string (``api_key: ${env.KEY}`` with KEY=12345 stays ``"12345"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

__all__ = ["DISABLED", "Substitution", "substitute"]

DISABLED = "__disabled__"
_PLACEHOLDER = re.compile(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?:(:=|:\+|:-|:)([^}]*))?\}")
_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")

Path = tuple[str | int, ...]


@dataclass
class Substitution:
    """The substituted tree, and the original text of every value that was typed."""

    value: Any
    raw_text: dict[Path, str] = field(default_factory=dict)


def _resolve(match: re.Match[str], env: Mapping[str, str], where: str) -> str | None:
    name, op, arg = match.group(1), match.group(2), match.group(3) or ""
    value = env.get(name)
    if op is None:
        if value is None:
            raise ConfigError(
                f"{where}: environment variable {name} is not set; set it, pass --env {name}=..., "
                f"or give a default with ${{env.{name}:=default}}"
            )
        return value
    if op == ":+":
        return (arg or None) if value else None
    return value if value else (arg or None)


def _typed(text: str | None) -> Any:
    if text is None or text == "":
        return None
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def _where(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "<root>"


def _string(text: str, env: Mapping[str, str], path: Path, raw: dict[Path, str]) -> Any:
    whole = _PLACEHOLDER.fullmatch(text)
    if whole:
        resolved = _resolve(whole, env, _where(path))
        typed = _typed(resolved)
        if resolved is not None and not isinstance(typed, str):
            raw[path] = resolved
        return typed
    return _PLACEHOLDER.sub(lambda m: _resolve(m, env, _where(path)) or "", text)


def _walk(node: Any, env: Mapping[str, str], path: Path, raw: dict[Path, str]) -> Any:
    if isinstance(node, str):
        return _string(node, env, path, raw) if "${" in node else node
    if isinstance(node, Mapping):
        return {k: _walk(v, env, (*path, str(k)), raw) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, env, (*path, i), raw) for i, v in enumerate(node)]
    return node


def substitute(tree: Any, env: Mapping[str, str]) -> Substitution:
    """Return ``tree`` with every placeholder resolved against ``env``."""
    raw: dict[Path, str] = {}
    return Substitution(_walk(tree, env, (), raw), raw)


def is_disabled(entry: Any) -> bool:
    """True if a provider or resource entry has a top-level field equal to ``__disabled__``."""
    return isinstance(entry, Mapping) and any(v == DISABLED for v in entry.values())


def where(path: Path) -> str:
    """A YAML path as users read it: ``providers.inference[0].config.url``."""
    return _where(path)
