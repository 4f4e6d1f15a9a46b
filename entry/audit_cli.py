"""`newborn-ledger audit purge --before DATE`: the read audit's retention (docs/operations.md,
Read audit). Rows older than the date (00:00 China time) are deleted; nothing else changes."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapters.facade import build
from adapters.settings import ConfigError, Settings

CHINA = timedelta(hours=8)


def add_parser(sub: Any) -> None:
    """The `audit` command and its subcommand, on the main parser's subparsers."""
    audit = sub.add_parser("audit", help="the read audit: retention")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    purge = commands.add_parser("purge", help="delete the read audit's rows before a date")
    purge.add_argument("--before", required=True, help="YYYY-MM-DD (China time): older rows go")


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    cutoff = china_midnight(args.before)
    container = build(settings)
    try:
        removed = container.audit.store.purge(cutoff)
    finally:
        container.close()
    print(f"removed {removed} read-audit rows before {args.before}")
    return 0


def china_midnight(text: str) -> float:
    """The time of 00:00 China time on the date `text` (YYYY-MM-DD), as a timestamp."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--before is a date, YYYY-MM-DD, not {text!r}") from None
    return (datetime(day.year, day.month, day.day, tzinfo=UTC) - CHINA).timestamp()
