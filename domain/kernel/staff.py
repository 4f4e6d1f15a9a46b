"""Staff users: a clerk's, a monitor's or a coordinator's account (password, TOTP secret, an
optional identity-provider subject), its sign-ins, failures and lockout. The hashing and the
one-time codes are a port (`Credentials`), so the aggregate stays plain Python."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.kernel.errors import DomainError
from domain.kernel.topics import stored_as

STAFF_NAMESPACE = uuid5(NAMESPACE_URL, "https://newborn-ledger.org/staff-users")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$", re.ASCII)
MIN_PASSWORD, MAX_PASSWORD = 12, 1_024
# Failures that count towards a lockout: a guess at the password or at the code. A refusal
# while locked or disabled proves nothing new, so it does not lengthen the lockout.
COUNTED = ("bad-password", "bad-totp", "totp-replayed")
ROLES = ("office", "monitor", "coordinator", "admin")  # staff roles (hospitals are systems)


class InvalidStaffUserError(DomainError):
    code = "invalid-staff-user"


class StaffUserNotFoundError(DomainError):
    code = "staff-user-not-found"


class SignInRefusedError(DomainError):
    """A sign-in was refused; `reason` says why (kebab-case), `detail` says it to the user."""

    code = "sign-in-refused"

    def __init__(self, detail: str, reason: str, locked_until: str | None = None) -> None:
        super().__init__(detail, reason=reason)
        self.reason, self.locked_until = reason, locked_until


class Credentials(Protocol):
    """Password hashes and time-based one-time codes (adapters/credentials.py)."""

    def hash_password(self, password: str) -> str: ...

    def password_matches(self, password_hash: str | None, password: str) -> bool:
        """None: no such user; the same work is done, and the answer is False."""
        ...

    def new_totp_secret(self) -> str: ...

    def totp_step(self, secret: str, code: str, at: datetime) -> int | None:
        """The time step `code` belongs to (the current one or a neighbour), else None."""
        ...


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise InvalidStaffUserError(
            "A username is 2-64 characters: a-z, 0-9, '.', '_' or '-'", field="username"
        )
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidStaffUserError(
            f"A password is at least {MIN_PASSWORD} characters long", field="password"
        )
    return password


@stored_as("domain.staff")
class StaffUser(Aggregate):
    """A person of an office, a monitor, a routing desk or an administration who signs in to
    the pages with a password and a one-time code, or through the identity provider."""

    class Added(Aggregate.Created):
        username: str
        role: str
        scope: str
        authority: str | None
        label: str
        password_hash: str
        totp_secret: str
        oidc_subject: str | None
        oidc_issuer: str | None

    class PasswordReset(Aggregate.Event):
        password_hash: str

    class TotpReset(Aggregate.Event):
        totp_secret: str

    class Disabled(Aggregate.Event):
        pass

    class SignedIn(Aggregate.Event):
        method: str  # "password" (with TOTP) or "oidc"

    class SignInFailed(Aggregate.Event):
        reason: str
        locked_until: str | None  # ISO time in UTC: this failure locked the user until then

    class TotpStepUsed(Aggregate.Event):
        step: int  # a code of this time step (or an earlier one) is refused from now on

    @staticmethod
    def create_id(username: str) -> UUID:
        return uuid5(STAFF_NAMESPACE, username)

    @event(Added)
    def __init__(
        self,
        username: str,
        role: str,
        scope: str,
        authority: str | None,
        label: str,
        password_hash: str,
        totp_secret: str,
        oidc_subject: str | None,
        oidc_issuer: str | None,
    ) -> None:
        self.username, self.role, self.scope, self.authority = username, role, scope, authority
        self.label, self.password_hash, self.totp_secret = label, password_hash, totp_secret
        self.oidc_subject, self.oidc_issuer = oidc_subject, oidc_issuer
        self.disabled = False
        self.failures = 0  # in a row, since the last sign-in, reset or lockout
        self.locked_until: str | None = None
        self.last_totp_step = 0

    def __repr__(self) -> str:
        return f"StaffUser(id={self.id!r}, role={self.role!r}, disabled={self.disabled!r})"

    def locked_at(self, now: datetime) -> str | None:
        """Until when the user is locked out at `now` (None: not locked)."""
        if self.locked_until and now < datetime.fromisoformat(self.locked_until):
            return self.locked_until
        return None

    def fail(self, reason: str, now: datetime, threshold: int, lockout: timedelta) -> str | None:
        """Record a refused sign-in; returns the lockout's end when this failure starts one."""
        counted = reason in COUNTED
        until = None
        if counted and self.failures + 1 >= threshold:
            until = (now + lockout).isoformat()
        self._failed(reason=reason, locked_until=until)
        return until

    def use_totp_step(self, step: int) -> None:
        """A code's step may be used once: the same or an earlier step is a replay."""
        if step <= self.last_totp_step:
            raise SignInRefusedError(
                "This code was used already: wait for the next code of your app",
                reason="totp-replayed",
            )
        self._totp_step_used(step=step)

    def signed_in(self, method: str) -> None:
        if self.disabled:
            raise SignInRefusedError("This account is disabled", reason="disabled")
        self._signed_in(method=method)

    def disable(self) -> None:
        if not self.disabled:
            self._disabled()

    @event(SignInFailed)
    def _failed(self, reason: str, locked_until: str | None) -> None:
        if reason in COUNTED:
            self.failures += 1
        if locked_until:
            self.locked_until, self.failures = locked_until, 0

    @event(TotpStepUsed)
    def _totp_step_used(self, step: int) -> None:
        self.last_totp_step = step

    @event(SignedIn)
    def _signed_in(self, method: str) -> None:
        self.failures, self.locked_until = 0, None

    @event(Disabled)
    def _disabled(self) -> None:
        self.disabled = True

    @event(PasswordReset)
    def reset_password(self, password_hash: str) -> None:
        """A new password also lifts a lockout (an administrator's act)."""
        self.password_hash, self.failures, self.locked_until = password_hash, 0, None

    @event(TotpReset)
    def reset_totp(self, totp_secret: str) -> None:
        self.totp_secret, self.last_totp_step = totp_secret, 0


def _redacted(event: Aggregate.Event) -> str:
    """The event's class and stream: its hash, secret and username never reach a log."""
    return f"StaffUser.{type(event).__name__}(originator_id={event.originator_id!r})"


# Set after the class is made: the library's event classes are dataclasses, whose own repr
# would replace one written in the class body.
for _secretive in (StaffUser.Added, StaffUser.PasswordReset, StaffUser.TotpReset):
    _secretive.__repr__ = _redacted  # type: ignore[assignment,method-assign]


@stored_as("domain.staff")
class OidcSubject(Aggregate):
    """An identity provider's subject claimed by one staff user: its id is the subject's, so
    two users cannot claim one subject, and a lookup is one read."""

    class Claimed(Aggregate.Created):
        subject: str
        user_id: UUID

    @staticmethod
    def create_id(subject: str) -> UUID:
        return uuid5(STAFF_NAMESPACE, f"oidc-subject:{subject}")

    @event(Claimed)
    def __init__(self, subject: str, user_id: UUID) -> None:
        self.subject, self.user_id = subject, user_id
