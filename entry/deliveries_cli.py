"""`newborn-ledger deliveries list|replay|discard`: the deliveries to registry systems, their
dead letters, sending them again (after the system is fixed), and dropping a disabled system's."""

from __future__ import annotations

import argparse
from typing import Any
from uuid import UUID

import orjson

from adapters.facade import Container, build
from adapters.settings import ConfigError, Settings


def add_parser(sub: Any) -> None:
    """The `deliveries` command and its subcommands, on the main parser's subparsers."""
    deliveries = sub.add_parser("deliveries", help="deliveries to registry systems, dead letters")
    commands = deliveries.add_subparsers(dest="deliveries_command", required=True)
    listing = commands.add_parser("list", help="one JSON line per delivery (never a body)")
    listing.add_argument("--dead", action="store_true", help="only the dead letters")
    listing.add_argument("--system", "--endpoint", dest="system", help="only this system's")
    listing.add_argument("--limit", type=int, default=1000, help="at most this many (1000)")
    replay = commands.add_parser(
        "replay", help="send a dead letter again (its attempts counted afresh)"
    )
    replay.add_argument("delivery_id", nargs="?", help="the dead letter (from 'list --dead')")
    replay.add_argument(
        "--system", "--endpoint", dest="system", help="every dead letter of this system"
    )
    discard = commands.add_parser(
        "discard", help="cancel a disabled system's pending deliveries and dead letters"
    )
    discard.add_argument("--system", required=True, help="the disabled system's id")


def cmd_deliveries(settings: Settings, args: argparse.Namespace) -> int:
    container = build(settings)
    try:
        if args.deliveries_command == "list":
            return _list(container, args)
        if args.deliveries_command == "discard":
            return _discard(container, args)
        return _replay(container, args)
    finally:
        container.close()


def _list(container: Container, args: argparse.Namespace) -> int:
    system = _uuid(args.system, "system") if args.system else None
    for row in container.deliveries.listing(dead=args.dead, system_id=system, limit=args.limit):
        print(orjson.dumps(row).decode())
    return 0


def _replay(container: Container, args: argparse.Namespace) -> int:
    if (args.delivery_id is None) == (args.system is None):
        raise ConfigError("replay takes a delivery id, or --system <id>: one of them")
    if args.system:
        count = container.deliveries.replay_system(_uuid(args.system, "system"))
        print(f"{count} dead letter{'s' * (count != 1)} of system {args.system} due again")
        return 0
    if not container.deliveries.replay(_uuid(args.delivery_id, "delivery")):
        raise ConfigError(f"{args.delivery_id} is not a dead letter (see 'deliveries list --dead')")
    print(f"delivery {args.delivery_id} due again")
    return 0


def _discard(container: Container, args: argparse.Namespace) -> int:
    system = container.systems.get_system(_uuid(args.system, "system"))
    count = container.deliveries.discard(system)  # refused (ConfigError) while it is enabled
    print(
        f"{count} waiting deliver{'ies' if count != 1 else 'y'} of system {args.system} cancelled"
    )
    return 0


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ConfigError(f"{value!r} is not a {what} id (a UUID)") from None
