"""Staff sign-in over a built container: check a password and a one-time code, open and find
sessions (idle and absolute timeouts), end them, and record every attempt in the sign-in log.
The identity-provider sign-in (OIDC) calls `open_session` and `record_sign_in_refused`."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, replace
from uuid import UUID

from adapters.bootstrap import Container
from adapters.staff_sessions import SessionRow, SignInRow
from domain.kernel.actors import Principal
from domain.kernel.staff import SignInRefusedError, StaffUser

log = logging.getLogger(__name__)
SESSION_BYTES = 32  # 256 random bits
PURGE_EVERY = 100  # a new session purges the ended ones about once in this many


@dataclass(frozen=True)
class SignedIn:
    """A session that was found: who, and the CSRF token its unsafe requests must carry."""

    principal: Principal
    csrf: str
    expires_at: float  # the absolute end (epoch seconds)
    idle_ends_at: float  # the end if nothing happens

    def __repr__(self) -> str:
        return f"SignedIn(role={self.principal.role!r})"


def session_hash(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode("utf-8")).hexdigest()


def open_session(container: Container, user: StaffUser, *, method: str = "oidc") -> tuple[str, str]:
    """Record the sign-in and open a session; returns (cookie value, CSRF token). A disabled
    user is refused (SignInRefusedError, recorded)."""
    try:
        user = container.staff.signed_in(user.id, method)
    except SignInRefusedError as refused:
        _log(container, method, refused.reason, user=user)
        raise
    _log(container, method, "", user=user)
    cookie, csrf, now = secrets.token_urlsafe(SESSION_BYTES), secrets.token_urlsafe(24), time.time()
    accounts = container.settings.accounts
    row = SessionRow(
        session_hash(cookie), str(user.id), user.username, user.role, user.scope,
        user.authority, csrf, now, now, now + accounts.session_max_s,
    )  # fmt: skip
    if secrets.randbelow(PURGE_EVERY) == 0:
        container.sessions.purge(now, accounts.session_idle_s)
    container.sessions.create(row)
    log.info("staff session opened (user %s, %s)", user.id, method)
    return cookie, csrf


def password_sign_in(
    container: Container, username: str, password: str, code: str
) -> tuple[StaffUser, str, str]:
    """Check the password and the code, then open a session: (user, cookie value, CSRF)."""
    try:
        user = container.staff.check_sign_in(username, password, code)
    except SignInRefusedError as refused:
        known = container.staff.find(username) if refused.reason != "unknown-user" else None
        _log(container, "password", refused.reason, user=known, attempted=username)
        raise
    cookie, csrf = open_session(container, user, method="password")
    return user, cookie, csrf


def record_sign_in_refused(
    container: Container,
    *,
    method: str,
    reason: str,
    user: StaffUser | None = None,
    attempted: str = "",
) -> None:
    """A refusal decided outside the password check (e.g. no account for an OIDC subject):
    in the sign-in log, and on the user's stream when there is a user."""
    if user is not None:
        container.staff.refuse(user, reason)
    _log(container, method, reason, user=user, attempted=attempted)


def find_session(container: Container, cookie_value: str) -> SignedIn | None:
    """The live session of this cookie (seen now), or None: unknown, idle too long, past its
    absolute end. An ended session is deleted."""
    key, now, accounts = session_hash(cookie_value), time.time(), container.settings.accounts
    row = container.sessions.get(key)
    if row is None:
        return None
    if now >= row.expires_at or now - row.seen_at >= accounts.session_idle_s:
        container.sessions.delete(key)
        return None
    if now - row.seen_at >= min(60.0, accounts.session_idle_s / 4):
        container.sessions.touch(key, now)  # not on every request: one write a minute at most
        row = replace(row, seen_at=now)
    principal = Principal(UUID(row.user_id), row.role, row.scope, row.authority, user=row.username)
    idle_end = min(row.expires_at, row.seen_at + accounts.session_idle_s)
    return SignedIn(principal, row.csrf, row.expires_at, idle_end)


def end_session(container: Container, cookie_value: str) -> None:
    container.sessions.delete(session_hash(cookie_value))


def disable_user(container: Container, username: str) -> int:
    """Disable a user and end its sessions; how many sessions ended."""
    user = container.staff.disable(username)
    return container.sessions.end_user(str(user.id))


def reset_password(container: Container, username: str, password: str) -> int:
    """A new password (a lockout is lifted); the user's sessions end."""
    user = container.staff.reset_password(username, password)
    return container.sessions.end_user(str(user.id))


def _log(
    container: Container,
    method: str,
    reason: str,
    *,
    user: StaffUser | None,
    attempted: str = "",
) -> None:
    """One sign-in log row: the user when known, else only a hash of what was typed."""
    typed = (
        "" if user is not None or not attempted else hashlib.sha256(attempted.encode()).hexdigest()
    )
    container.sessions.log(
        SignInRow(
            at=time.time(),
            user_id=str(user.id) if user else "",
            username=user.username if user else "",
            attempted_hash=typed,
            method=method,
            outcome="refused" if reason else "signed-in",
            reason=reason,
        )
    )
    if reason:
        log.info("staff sign-in refused (%s, %s)", method, reason)
