"""The demo's ending: its staff accounts, and how to open each page of its own store.

The demo adds one staff user per page that needs a sign-in (a clerk of the office the last
family's case waits at, a national monitor, an admin), each with a fresh random password and
TOTP secret printed once, and ends with the exact command that serves the demo's store."""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from adapters.facade import Container, provisioning_uri
from adapters.settings import PREFIX, Settings
from api.pages import PAGES

CLERK_OFFICE = ("420102", "public-security")  # Wuhan's hukou office: the last case waits there


@dataclass(frozen=True)
class StaffLogin:
    username: str
    role: str
    scope: str | None
    password: str
    totp_secret: str
    pages: tuple[str, ...]  # the pages this user signs in to


@dataclass(frozen=True)
class FamilyLogin:
    child: str
    tracking_code: str
    verifier: str


def add_staff(container: Container) -> list[StaffLogin]:
    """The demo's staff users, each with a random password (argon2id-hashed) and TOTP secret."""
    locality, authority = CLERK_OFFICE
    wanted = [
        ("demo.clerk", "office", locality, authority, ("/office",)),
        ("demo.monitor", "monitor", "national", None, ("/monitor",)),
        ("demo.admin", "admin", None, None, ("/desk",)),
    ]
    made = []
    for username, role, scope, office_authority, pages in wanted:
        password = secrets.token_urlsafe(12)
        user, secret = container.staff.add(
            username, role, scope, office_authority, password, "demo staff user"
        )
        where = " ".join(filter(None, (user.scope, office_authority))) if scope else None
        made.append(StaffLogin(username, role, where, password, secret, pages))
    return made


def guide(
    settings: Settings, store: Path, staff: list[StaffLogin], family: FamilyLogin
) -> list[str]:
    """The closing lines: serve this store, then each page and how to sign in to it."""
    base = f"http://{settings.host}:{settings.port}"
    lines = [
        f"The demo store is in {store}/ (one SQLite file per application and projection; "
        f"the demo's log lines are in {store}/demo.log).",
        "",
        "Try it in a browser: serve this store (in another terminal, Ctrl+C stops it):",
        "",
        f"   {serve_command(settings, store)}",
        *key_remark(settings),
        "",
        "then open:",
    ]
    by_page = {page: user for user in staff for page in user.pages}
    for path, (_, summary) in PAGES.items():
        if path == "/track":
            lines.append(
                f"   {base}{path:<9} {summary}: tracking code {family.tracking_code}, "
                f"verifier {family.verifier} ({family.child}'s family)"
            )
        elif (user := by_page.get(path)) is not None:
            lines.append(f"   {base}{path:<9} {summary}: sign in as {user.username}")
    lines += ["", f"Staff accounts (sign in at {base}/sign-in; each code lasts 30 seconds):"]
    for user in staff:
        lines += [
            f"   {user.username:<13} {user.role}"
            + (f" of {user.scope}" if user.scope else "")
            + f", password {user.password}, TOTP secret {user.totp_secret}",
            f"   {'':<13} {provisioning_uri(user.totp_secret, user.username)}",
        ]
    code = "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).now())"
    lines += [
        "   A code now, without an authenticator app (give the secret of the user signing in):",
        f"   {shlex.quote(sys.executable)} -c {shlex.quote(code)} {staff[0].totp_secret}",
    ]
    return lines


def serve_command(settings: Settings, store: Path) -> str:
    """The exact command that serves the demo's store, whatever this shell's environment
    says about the store (the demo always writes SQLite under its --dir)."""
    env = {f"{PREFIX}PERSISTENCE": "sqlite", f"{PREFIX}SQLITE_DIR": str(store)}
    if not settings.embedded_worker:  # SQLite has no separate worker: serve must do the work
        env[f"{PREFIX}EMBEDDED_WORKER"] = "yes"
    assigned = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    return f"{assigned} {shlex.quote(executable())} serve"


def key_remark(settings: Settings) -> list[str]:
    """The line after the command when the store is encrypted: on its own, not appended to
    the command (which is pasted into a shell as it is)."""
    if not settings.cipher_key:
        return []
    return [f"   (with the same {PREFIX}CIPHER_KEY set: the store is encrypted with it)"]


def executable() -> str:
    """This installation's `newborn-ledger`, as short as the current directory allows."""
    script = Path(sys.executable).with_name("newborn-ledger")
    if not script.exists():
        return "newborn-ledger"
    try:
        return os.path.join(".", script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)
