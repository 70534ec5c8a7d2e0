"""The ``stack`` command line: run, list-apis, list-providers, config show|validate, keys."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

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

    source = _source(args.config)
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

    run = sub.add_parser("run", help="start the server")
    run.add_argument("config", nargs="?", help="run config file or distribution name (default: assemble)")
    run.add_argument("--port", type=int)
    run.add_argument("--host")
    run.add_argument("--workers", type=int)
    run.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help=env_help)
    run.set_defaults(func=cmd_run)

    sub.add_parser("list-apis", help="APIs provided by installed plugins").set_defaults(func=cmd_list_apis)

    providers = sub.add_parser("list-providers", help="provider types of installed plugins")
    providers.add_argument("api", nargs="?")
    providers.set_defaults(func=cmd_list_providers)

    config = sub.add_parser("config", help="inspect run configs")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser("show", help="print the resolved config, secrets redacted")
    show.add_argument("config", nargs="?")
    show.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help=env_help)
    show.set_defaults(func=cmd_config_show)
    validate = config_sub.add_parser(
        "validate", help="check a config (APIs, providers, their configs, resources) without starting it"
    )
    validate.add_argument("config", nargs="?")
    validate.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help=env_help)
    validate.set_defaults(func=cmd_config_validate)

    from .auth.keys_cli import add_keys_parser

    add_keys_parser(sub, cmd_keys, env_help)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("STACK_LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s: %(message)s"
    )
    if not os.environ.get("STACK_ACCESS_LOG"):
        logging.getLogger("stack.access").setLevel(logging.WARNING)
    for noisy in ("httpx", "faiss.loader", "chromadb.telemetry"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _apply_env(getattr(args, "env", []))
    try:
        args.func(args)
    except StackError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
