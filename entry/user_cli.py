"""Staff accounts: `newborn-ledger user add|list|disable|reset-password|reset-totp|sign-ins|
purge-sign-ins`.

A password is never an argument (it would stay in the shell's history and the process list):
it comes from NEWBORN_LEDGER_USER_PASSWORD or from a prompt. A new TOTP secret and its
otpauth:// URI are printed once."""

from __future__ import annotations

import argparse
import getpass
import os
from datetime import UTC, datetime
from typing import Any

import orjson

from adapters.facade import (
    AUTHORITIES,
    Container,
    StaffUser,
    build,
    disable_user,
    provisioning_uri,
    reset_password,
)
from adapters.settings import ConfigError, Settings
from entry.audit_cli import china_midnight

PASSWORD_ENV = "NEWBORN_LEDGER_USER_PASSWORD"
STAFF_ROLES = ("office", "monitor", "coordinator", "admin")


def add_parser(sub: Any) -> None:
    """The `user` command and its subcommands, on the main parser's subparsers."""
    user = sub.add_parser("user", help="manage staff accounts (the pages' sign-in)")
    commands = user.add_subparsers(dest="user_command", required=True)
    add = commands.add_parser(
        "add", help=f"add a user (password from {PASSWORD_ENV} or a prompt); prints the TOTP "
        "secret and its otpauth:// URI once",
    )  # fmt: skip
    add.add_argument("username", help="2-64 characters: a-z, 0-9, '.', '_', '-'")
    add.add_argument(
        "--role", required=True, choices=STAFF_ROLES, help="which pages and data the user may use"
    )
    add.add_argument("--scope", help="office: locality; monitor/coordinator: province|national")
    add.add_argument("--authority", choices=AUTHORITIES, help="an office's authority")
    add.add_argument("--label", default="", help="a note for operators")
    add.add_argument("--oidc-subject", help="the identity provider's subject (sub) of the user")
    add.add_argument("--oidc-issuer", help="and its issuer, if the subject must be of that one")
    commands.add_parser("list", help="list the users, one JSON line each (never a secret)")
    for name, text in (
        ("disable", "disable a user; its sessions end"),
        ("reset-password", f"set a new password ({PASSWORD_ENV} or a prompt); sessions end"),
        ("reset-totp", "make a new TOTP secret; prints it and its otpauth:// URI once"),
    ):
        commands.add_parser(name, help=text).add_argument("username", help="the user's name")
    log = commands.add_parser("sign-ins", help="the sign-in log, newest first, as JSON lines")
    log.add_argument("--user", default="", help="one user's attempts only")
    log.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    purge = commands.add_parser(
        "purge-sign-ins", help="delete the sign-in log's rows before a date (its retention)"
    )
    purge.add_argument("--before", required=True, help="YYYY-MM-DD (China time): older rows go")


def cmd_user(settings: Settings, args: argparse.Namespace) -> int:
    container = build(settings)
    try:
        {
            "add": _add,
            "list": _list,
            "disable": _disable,
            "reset-password": _reset_password,
            "reset-totp": _reset_totp,
            "sign-ins": _sign_ins,
            "purge-sign-ins": _purge_sign_ins,
        }[args.user_command](container, args)
    finally:
        container.close()
    return 0


def _add(container: Container, args: argparse.Namespace) -> None:
    user, secret = container.staff.add(
        args.username, args.role, args.scope, args.authority, _password(), args.label,
        args.oidc_subject, args.oidc_issuer,
    )  # fmt: skip
    print(f"added {user.role} {user.username} (id {user.id}), scope {user.scope}")
    _print_secret(user, secret)


def _list(container: Container, args: argparse.Namespace) -> None:
    for user in container.staff.users():
        row = {
            "username": user.username,
            "user_id": str(user.id),
            "role": user.role,
            "scope": user.scope,
            "authority": user.authority,
            "label": user.label,
            "disabled": user.disabled,
            "locked_until": user.locked_at(datetime.now(UTC)),
            "oidc": user.oidc_subject is not None,
        }
        print(orjson.dumps(row).decode())


def _disable(container: Container, args: argparse.Namespace) -> None:
    ended = disable_user(container, args.username)
    print(f"disabled {args.username}; {ended} session{'s' if ended != 1 else ''} ended")


def _reset_password(container: Container, args: argparse.Namespace) -> None:
    container.staff.user(args.username)  # an unknown user is refused before the prompt
    ended = reset_password(container, args.username, _password())
    print(f"new password for {args.username}; {ended} session{'s' if ended != 1 else ''} ended")


def _reset_totp(container: Container, args: argparse.Namespace) -> None:
    user, secret = container.staff.reset_totp(args.username)
    print(f"new TOTP secret for {user.username}; the old codes no longer work")
    _print_secret(user, secret)


def _sign_ins(container: Container, args: argparse.Namespace) -> None:
    for row in container.sessions.sign_ins(args.user, limit=max(1, args.limit)):
        at = datetime.fromtimestamp(row.at, UTC).isoformat(timespec="seconds")
        print(orjson.dumps({**row.__dict__, "at": at}).decode())


def _purge_sign_ins(container: Container, args: argparse.Namespace) -> None:
    removed = container.sessions.purge_sign_ins(china_midnight(args.before))
    print(f"removed {removed} sign-in log rows before {args.before}")


def _print_secret(user: StaffUser, secret: str) -> None:
    print("the TOTP secret and its URI are shown once; add them to the user's app now:")
    print(provisioning_uri(secret, user.username))
    print(secret)


def _password() -> str:
    """From NEWBORN_LEDGER_USER_PASSWORD, else asked twice without echo."""
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    first = getpass.getpass("password: ")
    if first != getpass.getpass("password again: "):
        raise ConfigError("the two passwords differ")
    return first
