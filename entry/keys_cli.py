"""`newborn-ledger keys list | rotate | withdraw --province NN --authority A`: the
e-certificates' signing keys (docs/operations.md, Certificate keys). A rotation makes a new key
that signs from now on; the earlier keys stay, retired, so the certificates they signed keep
verifying. A withdrawal takes a compromised key out of the published set: what it signed
verifies `invalid`, `key-withdrawn`, and the office's current key signs its certificates."""

from __future__ import annotations

import argparse
import logging
import os
from datetime import UTC, datetime
from typing import Any

from adapters.facade import AUTHORITIES, Container, build
from adapters.settings import ConfigError, Settings

log = logging.getLogger(__name__)
MAX_REASON = 500


def add_parser(sub: Any) -> None:
    """The `keys` command and its subcommands, on the main parser's subparsers."""
    keys = sub.add_parser("keys", help="e-certificate signing keys: list, rotate, withdraw")
    commands = keys.add_subparsers(dest="keys_command", required=True)
    commands.add_parser("list", help="every office's keys: kid, generation, made, retired")
    rotate = commands.add_parser("rotate", help="a new key for one office, from now on")
    _office(rotate)
    withdraw = commands.add_parser(
        "withdraw",
        help="withdraw a compromised key: out of the JWKS, what it signed invalid, a new key",
    )
    _office(withdraw)
    withdraw.add_argument(
        "--reason", required=True, help="why (kept encrypted; no personal data), e.g. leaked"
    )
    withdraw.add_argument("--kid", help="a retired key of the office (default: its signing key)")
    withdraw.add_argument("--by", help="who withdraws it, kept with the reason (default: $USER)")


def _office(parser: Any) -> None:
    parser.add_argument("--province", required=True, help="2-digit province code, e.g. 43")
    parser.add_argument(
        "--authority", required=True, choices=sorted(AUTHORITIES), help="the issuing authority"
    )


def cmd_keys(settings: Settings, args: argparse.Namespace) -> int:
    office = args.keys_command in ("rotate", "withdraw")
    if office and not (len(args.province) == 2 and args.province.isdigit()):
        raise ConfigError(f"--province is a 2-digit code, not {args.province!r}")
    if args.keys_command == "withdraw" and not 0 < len(args.reason.strip()) <= MAX_REASON:
        raise ConfigError(f"--reason is 1 to {MAX_REASON} characters")
    container = build(settings)
    try:
        if args.keys_command == "rotate":
            row = container.keys.rotate(args.province, args.authority)
            print(f"rotated {row.issuer}: generation {row.generation}, kid {row.kid}")
            return 0
        if args.keys_command == "withdraw":
            return _withdraw(container, args)
        withdrawn = {w.kid: w for w in container.keys.store.withdrawals()}
        for row in container.keys.store.rows():
            retired = f"retired {_when(row.retired_at)}" if row.retired_at else "signing"
            made = f"made {_when(row.created_at)}"
            if (withdrawal := withdrawn.get(row.kid)) is not None:
                record = container.keys.withdrawal_record(withdrawal)
                retired = (
                    f"withdrawn {_when(withdrawal.withdrawn_at)} by {record['by']}: "
                    f"{record['reason']}"
                )
            print("\t".join((row.issuer, str(row.generation), row.kid, made, retired)))
    finally:
        container.close()
    return 0


def _withdraw(container: Container, args: argparse.Namespace) -> int:
    by = args.by or os.environ.get("USER") or "operator"
    try:
        withdrawal, new = container.keys.withdraw(
            args.province, args.authority, args.reason.strip(), by, kid=args.kid
        )
    except (KeyError, ValueError) as exc:
        raise ConfigError(str(exc.args[0])) from None
    log.warning(
        "certificate key withdrawn: %s kid %s (%s)",
        withdrawal.issuer,
        withdrawal.kid,
        "a new key signs" if new else "it had retired",
    )
    print(f"withdrew {withdrawal.issuer}: kid {withdrawal.kid}")
    if new is not None:
        print(f"new signing key {new.issuer}: generation {new.generation}, kid {new.kid}")
    return 0


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
