"""`newborn-ledger keys list | rotate --province NN --authority A`: the e-certificates'
signing keys (docs/operations.md, Certificate keys). A rotation makes a new key that signs
from now on; the earlier keys stay, retired, so the certificates they signed keep verifying."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from adapters.facade import AUTHORITIES, build
from adapters.settings import ConfigError, Settings


def add_parser(sub: Any) -> None:
    """The `keys` command and its subcommands, on the main parser's subparsers."""
    keys = sub.add_parser("keys", help="e-certificate signing keys: list, rotate")
    commands = keys.add_subparsers(dest="keys_command", required=True)
    commands.add_parser("list", help="every office's keys: kid, generation, made, retired")
    rotate = commands.add_parser("rotate", help="a new key for one office, from now on")
    rotate.add_argument("--province", required=True, help="2-digit province code, e.g. 43")
    rotate.add_argument(
        "--authority", required=True, choices=sorted(AUTHORITIES), help="the issuing authority"
    )


def cmd_keys(settings: Settings, args: argparse.Namespace) -> int:
    if args.keys_command == "rotate" and not (len(args.province) == 2 and args.province.isdigit()):
        raise ConfigError(f"--province is a 2-digit code, not {args.province!r}")
    container = build(settings)
    try:
        if args.keys_command == "rotate":
            row = container.keys.rotate(args.province, args.authority)
            print(f"rotated {row.issuer}: generation {row.generation}, kid {row.kid}")
            return 0
        for row in container.keys.store.rows():
            retired = f"retired {_when(row.retired_at)}" if row.retired_at else "signing"
            made = f"made {_when(row.created_at)}"
            print("\t".join((row.issuer, str(row.generation), row.kid, made, retired)))
    finally:
        container.close()
    return 0


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
