"""``stack keys create|list|revoke``: API keys in the stack's SQL database (see ``keystore``).

``create`` prints the new key once; ``list`` never prints keys, only their ids. With ``--no-store``
``create`` writes nothing and prints a ``keys:`` entry for the ``api_key`` provider's config instead.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys
from collections.abc import Callable
from typing import Any

from ..config import RunConfig, StoreConfig, stack_home
from ..errors import BadRequestError, NotFoundError

__all__ = ["add_keys_parser", "run_keys"]

Table = Callable[[list[list[str]], list[str]], str]


def add_keys_parser(sub: Any, func: Callable[[argparse.Namespace], None], env_help: str) -> None:
    """Add ``keys`` with its ``create``, ``list`` and ``revoke`` subcommands to ``sub``."""
    keys = sub.add_parser("keys", help="manage API keys for the api_key auth provider")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key (printed once)")
    create.add_argument("--principal", required=True, help="who requests with the key act as")
    create.add_argument(
        "--attr", action="append", default=[], metavar="NAME=VALUE", help="access attribute (repeatable)"
    )
    create.add_argument("--no-store", action="store_true", help="print a config `keys:` entry instead")
    listing = keys_sub.add_parser("list", help="list keys (never shows them)")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id", help="the key id shown by `stack keys list` (sk-stack-XXXXXXXX)")
    for command in (create, listing, revoke):
        command.add_argument("config", nargs="?", help="run config (default: as `stack run` finds it)")
        command.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help=env_help)
        command.set_defaults(func=func)


def _attributes(pairs: list[str]) -> dict[str, list[str]]:
    attributes: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise BadRequestError(f"--attr expects NAME=VALUE, got {pair!r}")
        attributes.setdefault(name, []).extend(v for v in value.split(",") if v)
    return attributes


def _when(stamp: float | None) -> str:
    if stamp is None:
        return ""
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def run_keys(args: argparse.Namespace, config: RunConfig, table: Table) -> str:
    """Run a ``keys`` subcommand against ``config``'s database; returns what to print."""
    if args.keys_command == "create" and args.no_store:
        from .keystore import generate_key, hash_key

        _, key = generate_key()
        entry = {"key_hash": hash_key(key), "principal": args.principal, "attributes": _attributes(args.attr)}
        return f"API key (shown once, store it now):\n{key}\n\nConfig entry for `keys:`:\n- {json.dumps(entry)}\n"
    kind = (config.server.auth.provider_config.get("type") if config.server.auth else None) or "none"
    if kind != "api_key":
        print(
            f"note: this config's auth provider is {kind!r}; database keys are used by 'api_key'.",
            file=sys.stderr,
        )
    return asyncio.run(_run(args, config, table))


async def _run(args: argparse.Namespace, config: RunConfig, table: Table) -> str:
    from ..storage import Database
    from .keystore import KeyStore, key_id

    # The store and default path Stack.start opens: the metadata store, or registry.db in the state dir.
    state_dir = stack_home() / (config.image_name or "default")
    database = Database(config.metadata_store or StoreConfig(), state_dir / "registry.db")
    store = KeyStore(database)
    try:
        await store.open()
        if args.keys_command == "create":
            record, key = await store.create(args.principal, _attributes(args.attr))
            return (
                f"Created {record.name} for {record.principal} (attributes: {json.dumps(record.attributes)}).\n"
                f"API key (shown once, store it now):\n{key}\n"
            )
        if args.keys_command == "list":
            rows = [
                [r.name, r.principal, json.dumps(r.attributes), _when(r.created_at), _when(r.revoked_at)]
                for r in await store.records()
            ]
            return table(rows, ["ID", "PRINCIPAL", "ATTRIBUTES", "CREATED", "REVOKED"]) + "\n"
        ident = key_id(args.id)
        if ident is None or not await store.revoke(ident):
            raise NotFoundError("No active API key with that id; see `stack keys list`.")
        return f"Revoked sk-stack-{ident}.\n"
    finally:
        await database.close()
