"""The configuration reference, generated from what is installed: every provider's and auth
provider's config model (fields, types, defaults, secrets, descriptions), the ``STACK_*``
variables (``environment.VARIABLES``), the variables the default distribution and the shipped
distributions read. ``stack docs config`` writes it as Markdown (``docs/configuration.md``);
``stack list-providers --config-schema`` prints the JSON schemas.
"""

from __future__ import annotations

import itertools
import json
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from .distribution import SHIPPED
from .environment import VARIABLES
from .hookspecs import ProviderSpec
from .plugins import PluginSet

__all__ = ["config_schemas", "markdown"]

PLACEHOLDER = re.compile(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)")
LONGEST_DEFAULT = 80


@dataclass(frozen=True)
class FieldDoc:
    """One config field; ``default`` is JSON, or None when the field is required or its default
    too long for a table cell (``required`` tells which)."""

    name: str
    type: str
    required: bool
    default: str | None
    secret: bool
    description: str


def _type_name(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(map(_type_name, args))}]"
    return "None" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _walk(tp: Any) -> Iterator[Any]:
    yield tp
    for arg in get_args(tp):
        yield from _walk(arg)


def _default(field: FieldInfo) -> str | None:
    if field.is_required():
        return None
    text = json.dumps(to_jsonable_python(field.get_default(call_default_factory=True)))
    return text if len(text) <= LONGEST_DEFAULT else None


def fields(model: type[BaseModel]) -> list[FieldDoc]:
    """One ``FieldDoc`` per field of ``model``, in declaration order."""
    return [
        FieldDoc(
            name=name,
            type=_type_name(field.annotation),
            required=field.is_required(),
            default=_default(field),
            secret=any(t is SecretStr for t in _walk(field.annotation)),
            description=field.description or "",
        )
        for name, field in model.model_fields.items()
    ]


def nested_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The config models ``model``'s fields hold (depth first, each once), e.g. a shield's rules."""
    found: dict[str, type[BaseModel]] = {}

    def visit(current: type[BaseModel]) -> None:
        for field in current.model_fields.values():
            for tp in _walk(field.annotation):
                if isinstance(tp, type) and issubclass(tp, BaseModel) and tp.__name__ not in found:
                    found[tp.__name__] = tp
                    visit(tp)

    visit(model)
    return list(found.values())


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "config_model": model.__name__,
        "secrets": [f.name for f in fields(model) if f.secret],
        "schema": model.model_json_schema(),
    }


def config_schemas(plugins: PluginSet) -> dict[str, Any]:
    """The JSON schema of every provider's and auth provider's config, with what registered it and
    the names of its secret fields (``SecretStr``: never echoed)."""
    return {
        "providers": [
            {
                "api": spec.api,
                "provider_type": spec.provider_type,
                "package": spec.package,
                "enable_env": spec.enable_env,
                "description": spec.description,
                "sample_config": dict(spec.sample_config),
                **_schema(spec.config_model()),
            }
            for spec in plugins.providers_for()
        ],
        "auth_providers": [
            {"type": kind, "package": spec.package, **_schema(spec.config_model())}
            for kind, spec in sorted(plugins.auth.items())
        ],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return [*lines, *("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)]


def _default_cell(field: FieldDoc) -> str:
    if field.required:
        return "required"
    return f"`{field.default}`" if field.default is not None else "see description"


def _model_table(model: type[BaseModel]) -> list[str]:
    rows = [
        [f"`{f.name}`", f"`{f.type}`", _default_cell(f), "secret" if f.secret else "", f.description]
        for f in fields(model)
    ]
    if not rows:
        return ["No options: `config: {}`."]
    return _table(["Field", "Type", "Default", "Secret", "Description"], rows)


def _config_section(model: type[BaseModel], level: str) -> list[str]:
    lines = _model_table(model)
    for nested in nested_models(model):
        doc = (nested.__doc__ or "").strip().splitlines()
        lines += [
            "",
            f"{level} `{nested.__name__}`",
            "",
            *([doc[0], ""] if doc else []),
            *_model_table(nested),
        ]
    return lines


def _env_of(spec: ProviderSpec) -> list[str]:
    found = PLACEHOLDER.findall(json.dumps(dict(spec.sample_config)))
    return list(dict.fromkeys([*([spec.enable_env] if spec.enable_env else []), *found]))


def _enabled_by(spec: ProviderSpec) -> str:
    if spec.enable_env:
        return f"`{spec.enable_env}`"
    if spec.is_remote:
        return "a run config"
    return f"installing it (no remote {spec.api} enabled)" if spec.fallback else "installing it"


def _enabled_sentence(spec: ProviderSpec) -> str:
    if spec.enable_env:
        return f"The default distribution enables it when `{spec.enable_env}` is set."
    if spec.is_remote:
        return "The default distribution leaves it out: name it in a run config."
    if spec.fallback:
        return (
            f"The default distribution enables it when it is installed and no remote {spec.api} "
            "provider is enabled."
        )
    return "The default distribution enables it whenever it is installed."


def _environment(plugins: PluginSet) -> list[str]:
    own = [[f"`{v.name}`", f"`{v.default}`" if v.default else "", v.description] for v in VARIABLES]
    read: list[list[str]] = []
    for spec in plugins.providers_for():
        for name in _env_of(spec):
            effect = "enables it" if name == spec.enable_env else "fills its sample config"
            read.append([f"`{name}`", f"`{spec.provider_type}` ({spec.api})", effect])
    lines = [
        "## Environment variables",
        "",
        "### Stack's own",
        "",
        *_table(["Variable", "Default", "What it does"], own),
    ]
    lines += [
        "",
        "### Read by the default distribution",
        "",
        "`stack run` with no run config (and no `STACK_CONFIG`) assembles a distribution from the installed "
        "providers: every inline provider, and each provider whose enabling variable is set, configured "
        "with its sample config.",
        "",
        *_table(["Variable", "Provider", "Effect"], read),
    ]
    return lines


def _distributions() -> list[str]:
    """Each shipped distribution: its leading comment (prose, then indented example commands) and
    the variables it reads."""
    lines = [
        "",
        "### Shipped distributions",
        "",
        "`stack run NAME` runs one of these (shipped in stack-core).",
    ]
    for path in sorted(SHIPPED.glob("*.yaml")):
        text = path.read_text()
        header = list(itertools.takewhile(lambda line: line.startswith("#"), text.splitlines()))
        prose = " ".join(line[2:] for line in header if line.startswith("# ") and not line.startswith("#  "))
        examples = [line[1:].strip() for line in header if line.startswith("#  ")]
        names = ", ".join(f"`{n}`" for n in sorted(set(PLACEHOLDER.findall(text))))
        lines += ["", f"#### `{path.stem}`", "", prose, ""]
        lines += ["```bash", *examples, "```", ""] if examples else []
        lines += [f"Variables: {names or 'none'}."]
    return lines


def _providers(plugins: PluginSet) -> list[str]:
    specs = plugins.providers_for()
    index = [
        [f"[`{s.provider_type}`](#{_anchor(s)})", s.api, s.package, _enabled_by(s), s.description]
        for s in specs
    ]
    lines = [
        "",
        "## Providers",
        "",
        *_table(["Provider type", "API", "Package", "Enabled by", "Description"], index),
    ]
    for spec in specs:
        model = spec.config_model()
        sample = yaml.safe_dump(
            {
                "provider_id": spec.default_id,
                "provider_type": spec.provider_type,
                "config": dict(spec.sample_config),
            },
            sort_keys=False,
        )
        lines += [
            "",
            f'<a id="{_anchor(spec)}"></a>',
            f"### `{spec.provider_type}` ({spec.api})",
            "",
            f"{spec.description} Package `{spec.package}`, config model `{model.__name__}`. "
            + _enabled_sentence(spec),
            "",
            f"```yaml\nproviders:\n  {spec.api}:\n  - " + sample.replace("\n", "\n    ").rstrip() + "\n```",
            "",
            *_config_section(model, "####"),
        ]
    return lines


def _anchor(spec: ProviderSpec) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{spec.api}-{spec.provider_type}".lower()).strip("-")


def _auth(plugins: PluginSet) -> list[str]:
    lines = [
        "",
        "## Auth providers",
        "",
        "Selected by `server.auth.provider_config.type`; the other keys are the fields below.",
    ]
    for kind, spec in sorted(plugins.auth.items()):
        lines += [
            "",
            f"### `{kind}`",
            "",
            f"Package `{spec.package}`.",
            "",
            *_config_section(spec.config_model(), "####"),
        ]
    return lines


def markdown(plugins: PluginSet) -> str:
    """``docs/configuration.md``: the whole reference for ``plugins``."""
    packages = sorted(
        {s.package for s in plugins.providers.values()} | {s.package for s in plugins.auth.values()}
    )
    header = [
        "# Configuration reference",
        "",
        "<!-- Generated by `stack docs config --output docs/configuration.md`; do not edit by hand. -->",
        "",
        "Every option of every provider, generated from the config models of the installed packages "
        f"({', '.join(f'`{p}`' for p in packages)}). "
        "A provider's `config:` block in a run config takes the fields of its table; unknown fields are "
        "errors, and values may use `${env.NAME}`, `${env.NAME:=default}` and `${env.NAME:+value}`. "
        "Secrets are never printed by `stack config show`, `/v1/providers` or the logs. "
        "`stack list-providers --config-schema` prints the same models as JSON schemas.",
        "",
    ]
    body = [*_environment(plugins), *_distributions(), *_providers(plugins), *_auth(plugins)]
    return "\n".join([*header, *body]).rstrip() + "\n"
