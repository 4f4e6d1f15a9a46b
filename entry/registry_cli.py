"""`newborn-ledger registry add|list|rotate-secret|disable`: an office's own systems, their
endpoints, signing secrets (Standard Webhooks `whsec_...`) and tokens."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson

from adapters.facade import AUTHORITIES, Container, build, feed_now
from adapters.settings import ConfigError, Settings

KEEP_OLD_HOURS = 24.0


def add_parser(sub: Any) -> None:
    """The `registry` command and its subcommands, on the main parser's subparsers."""
    registry = sub.add_parser("registry", help="manage registry systems (an office's own system)")
    commands = registry.add_subparsers(dest="registry_command", required=True)
    add = commands.add_parser(
        "add",
        help="add a system of an office; prints its id, its signing secret, and its token "
        "alone on the last line (both shown once)",
    )
    add.add_argument("--locality", required=True, help="the office's 6-digit division code")
    add.add_argument(
        "--authority", required=True, choices=AUTHORITIES, help="the office's authority"
    )
    where = add.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="the http(s) URL deliveries are POSTed to (signed)")
    where.add_argument(
        "--feed-only",
        action="store_true",
        help="no deliveries: the system reads GET /offices/{locality}/{authority}/feed",
    )
    add.add_argument("--label", default="", help="a note for operators (no personal data)")
    add.add_argument(
        "--from-start",
        action="store_true",
        help="deliver the office's messages from its feed's first (the office's history); "
        "by default a new system gets the messages of events recorded after it was added",
    )
    commands.add_parser("list", help="list the systems, one JSON line each (never a secret)")
    rotate = commands.add_parser(
        "rotate-secret", help="make a new signing secret; prints it alone on the last line"
    )
    rotate.add_argument("system_id", help="the system's id (from 'registry list')")
    rotate.add_argument(
        "--keep-old-hours",
        type=float,
        default=KEEP_OLD_HOURS,
        help="how long deliveries are still signed with the old secret too, so the system "
        f"can switch (default {KEEP_OLD_HOURS:g}; 0: the old one ends now)",
    )
    disable = commands.add_parser(
        "disable",
        help="stop a system's deliveries (its waiting ones are cancelled) and revoke its token",
    )
    disable.add_argument("system_id", help="the system's id (from 'registry list')")


def cmd_registry(settings: Settings, args: argparse.Namespace) -> int:
    container = build(settings)
    try:
        {"add": _add, "list": _list, "rotate-secret": _rotate, "disable": _disable}[
            args.registry_command
        ](container, args)
    finally:
        container.close()
    return 0


def _add(container: Container, args: argparse.Namespace) -> None:
    url = None if args.feed_only else args.url
    starts_after = 0 if args.from_start else feed_now(container)
    added = container.systems.register(
        container.actors, args.locality, args.authority, url, args.label, starts_after
    )
    system = added.system
    print(
        f"added registry system {system.system_id} of office {system.locality} "
        f"{system.authority} (actor {system.actor_id}): "
        + (f"deliveries to {system.url}" if system.url else "feed only")
        + (f", after feed position {starts_after}" if starts_after else ", from the start")
    )
    print("its signing secret, then its token, are shown once; store them now:")
    print(added.secret)
    print(added.token)


def _list(container: Container, args: argparse.Namespace) -> None:
    for system in container.systems.systems(datetime.now(UTC)):
        row = {
            "system_id": str(system.system_id),
            "actor_id": str(system.actor_id),
            "locality": system.locality,
            "authority": system.authority,
            "url": system.url,
            "label": system.label,
            "disabled": system.disabled,
            "valid_secrets": len(system.secrets),
            "starts_after": system.starts_after,  # 2 while a rotated-out one still signs
        }
        print(orjson.dumps(row).decode())


def _rotate(container: Container, args: argparse.Namespace) -> None:
    if not 0 <= args.keep_old_hours <= 24 * 30:
        raise ConfigError("--keep-old-hours must be between 0 and 720")
    keep_old = timedelta(hours=args.keep_old_hours)
    secret = container.systems.rotate_secret(_uuid(args.system_id), keep_old)
    until = (datetime.now(UTC) + keep_old).isoformat(timespec="seconds")
    print(f"rotated the secret of {args.system_id}; the old one also signs until {until}")
    print("the new secret is shown once; store it now:")
    print(secret)


def _disable(container: Container, args: argparse.Namespace) -> None:
    system = container.systems.disable(_uuid(args.system_id), container.actors)
    cancelled = container.deliveries.discard(system)  # never sent: no warning, no metric
    print(
        f"disabled {system.system_id}; its token (actor {system.actor_id}) is revoked; "
        f"{cancelled} waiting deliver{'ies' if cancelled != 1 else 'y'} cancelled"
    )


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ConfigError(f"{value!r} is not a system id (a UUID from 'registry list')") from None
