"""The ``stack`` command line: run, list-apis, list-providers, config show|validate, keys, docs.

A ``StackError`` ends a command with its message on one line and exit status 2; ``--debug`` (or
``STACK_LOG_LEVEL=debug``) adds its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .environment import configure_logging, debugging
from .errors import ConfigError, StackError

__all__ = ["main"]


def _apply_env(pairs: Sequence[str]) -> None:
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env expects KEY=VALUE, got {pair!r}")
        os.environ[key] = value


def _source(config: str | None) -> str | dict[str, Any]:
    from .distribution import assemble, find_config
    from .plugins import load_plugins

    if config:
        return str(find_config(config))
    if os.environ.get("STACK_CONFIG"):
        return str(find_config(os.environ["STACK_CONFIG"]))
    return assemble(load_plugins(), os.environ)


def _served_source(config: str | None) -> str | dict[str, Any]:
    """``_source``, refusing an assembled distribution that would serve nothing with what would
    enable the installed providers."""
    source = _source(config)
    if isinstance(source, dict) and not source["providers"]:
        from .distribution import nothing_enabled
        from .plugins import load_plugins

        raise ConfigError(nothing_enabled(load_plugins(), os.environ))
    return source


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def cmd_run(args: argparse.Namespace) -> None:
    from .server.serve import serve, without_httpx_cli

    without_httpx_cli()
    from .config import load_config
    from .server.app import create_app

    source = _served_source(args.config)
    config = load_config(source)
    server = config.server.model_copy(
        update={k: v for k, v in {"port": args.port, "host": args.host, "workers": args.workers}.items() if v}
    )
    config.server = server
    from .stack import Stack

    problems = Stack(config).problems()  # config mistakes, all at once, before anything starts
    if problems:
        raise ConfigError(
            "\n".join(problems) if len(problems) == 1 else "\n".join(f"- {p}" for p in problems)
        )
    app = create_app(config) if server.workers <= 1 else None
    scheme = "https" if server.tls_certfile else "http"
    banner = f"Stack serving on {scheme}://{server.host}:{server.port} ({server.workers} worker(s))"
    serve(source, server, app, listening=lambda: print(banner, flush=True))


def cmd_list_apis(_: argparse.Namespace) -> None:
    from .plugins import load_plugins

    plugins = load_plugins()
    specs = [plugins.api(name) for name in sorted(plugins.apis)]
    rows = [[s.name, str(len(s.routes)), s.description] for s in specs]
    print(_table(rows, ["API", "ROUTES", "DESCRIPTION"]))


def cmd_list_providers(args: argparse.Namespace) -> None:
    from .plugins import load_plugins

    plugins = load_plugins()
    if args.config_schema:
        from .reference import config_schemas

        schemas = config_schemas(plugins)
        schemas["providers"] = [p for p in schemas["providers"] if args.api in (None, p["api"])]
        print(json.dumps(schemas, indent=2))
        return
    rows = [
        [s.api, s.provider_type, s.package, s.enable_env or "", s.description]
        for s in plugins.providers_for(args.api)
    ]
    print(_table(rows, ["API", "PROVIDER TYPE", "PACKAGE", "ENABLED BY", "DESCRIPTION"]))
    for failure in plugins.failures:
        print(f"warning: {failure.describe()}", file=sys.stderr)


def cmd_config_show(args: argparse.Namespace) -> None:
    import yaml

    from .config import load_config
    from .redact import redact

    config = load_config(_source(args.config))
    data = redact(config.model_dump(exclude_defaults=False))
    print(yaml.safe_dump(data, sort_keys=False), end="")


def cmd_config_validate(args: argparse.Namespace) -> None:
    from .config import load_config
    from .stack import Stack

    config = load_config(_source(args.config))
    problems = Stack(config).problems()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        raise SystemExit(2)
    count = sum(len(entries) for entries in config.providers.values())
    print(f"config OK: {count} provider(s) for {len(config.providers)} API(s)")


def cmd_docs_config(args: argparse.Namespace) -> None:
    from .plugins import load_plugins
    from .reference import markdown

    text = markdown(load_plugins())
    if args.output is None:
        print(text, end="")
        return
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text)
    print(f"wrote {args.output}")


def cmd_keys(args: argparse.Namespace) -> None:
    from .auth.keys_cli import run_keys
    from .config import load_config

    print(run_keys(args, load_config(_source(args.config)), _table), end="")


def parser() -> argparse.ArgumentParser:
    from .services import stack_version

    root = argparse.ArgumentParser(prog="stack", description="Stack LLM application server")
    root.add_argument("--version", action="version", version=f"stack {stack_version()}")
    sub = root.add_subparsers(dest="command", required=True)
    env_help = "set an environment variable for config substitution (repeatable)"

    config_help = (
        "run config file or shipped distribution name (default: $STACK_CONFIG, else a distribution "
        "assembled from the installed providers)"
    )

    run = sub.add_parser("run", help="start the server")
    run.add_argument("config", nargs="?", help=config_help)
    run.add_argument("--port", type=int, help="port to listen on (default: server.port, 8321)")
    run.add_argument("--host", help="address to listen on (default: server.host, 127.0.0.1)")
    run.add_argument("--workers", type=int, help="worker processes (default: server.workers, 1)")
    run.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help=env_help)
    run.add_argument(
        "--debug",
        action="store_true",
        help="log at DEBUG and print the traceback of a start-up failure (as STACK_LOG_LEVEL=debug)",
    )
    run.set_defaults(func=cmd_run)

    sub.add_parser("list-apis", help="APIs provided by installed plugins").set_defaults(func=cmd_list_apis)

    providers = sub.add_parser("list-providers", help="provider types of installed plugins")
    providers.add_argument("api", nargs="?", help="only the providers of this API (e.g. inference)")
    providers.add_argument(
        "--config-schema",
        action="store_true",
        help="print each provider's (and auth provider's) config as JSON schema instead of a table",
    )
    providers.set_defaults(func=cmd_list_providers)

    config = sub.add_parser("config", help="inspect run configs")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser("show", help="print the resolved config, secrets redacted")
    validate = config_sub.add_parser(
        "validate", help="check a config (APIs, providers, their configs, resources) without starting it"
    )
    for command, func in ((show, cmd_config_show), (validate, cmd_config_validate)):
        command.add_argument("config", nargs="?", help=config_help)
        command.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help=env_help)
        command.set_defaults(func=func)

    docs = sub.add_parser("docs", help="generate documentation")
    docs_sub = docs.add_subparsers(dest="docs_command", required=True)
    docs_config = docs_sub.add_parser(
        "config", help="the configuration reference (providers' options, environment variables) as Markdown"
    )
    docs_config.add_argument("--output", "-o", metavar="PATH", help="write it here (default: stdout)")
    docs_config.set_defaults(func=cmd_docs_config)

    from .auth.keys_cli import add_keys_parser
    from .eval_cli import add_eval_parser

    add_keys_parser(sub, cmd_keys, env_help)
    add_eval_parser(sub)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "debug", False):
        os.environ["STACK_LOG_LEVEL"] = "DEBUG"  # spawned workers inherit it
    configure_logging()
    _apply_env(getattr(args, "env", []))
    try:
        args.func(args)
    except StackError as exc:
        if debugging():
            traceback.print_exc()
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
