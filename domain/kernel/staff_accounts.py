"""StaffAccounts: the staff users' own small event store (beside the ActorDirectory), their
sign-in checks (password, then a one-time code used once), failures and lockouts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from domain.kernel.actors import normalise_scope
from domain.kernel.applications import ExplicitEnvMixin
from domain.kernel.staff import (
    ROLES,
    Credentials,
    InvalidStaffUserError,
    OidcSubject,
    SignInRefusedError,
    StaffUser,
    StaffUserNotFoundError,
    check_password,
    check_username,
)

LIST_PAGE = 1_000
LOCKOUT_FAILURES, LOCKOUT = 5, timedelta(minutes=15)
MAX_LABEL, MAX_SUBJECT = 200, 255
WRONG = "The username or the password is wrong"  # one message: no probing for usernames


class StaffAccounts(ExplicitEnvMixin, Application[UUID]):
    """Staff users sign in to the pages as people; machine clients keep their tokens."""

    name = "StaffAccounts"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.credentials: Credentials | None = None  # set by the composition root
        self.lockout_failures, self.lockout = LOCKOUT_FAILURES, LOCKOUT

    @property
    def _credentials(self) -> Credentials:
        if self.credentials is None:
            raise RuntimeError("StaffAccounts.credentials is not set")
        return self.credentials

    def add(
        self,
        username: str,
        role: str,
        scope: str | None,
        authority: str | None,
        password: str,
        label: str = "",
        oidc_subject: str | None = None,
        oidc_issuer: str | None = None,
    ) -> tuple[StaffUser, str]:
        """A new user; returns it with its TOTP secret (shown once by the command line)."""
        name = check_username(username)
        if role not in ROLES:
            raise InvalidStaffUserError(f"Role must be one of {', '.join(ROLES)}", field="role")
        norm_scope, norm_authority = normalise_scope(role, scope, authority)
        if len(label) > MAX_LABEL or not 0 < len(oidc_subject or "-") <= MAX_SUBJECT:
            raise InvalidStaffUserError("The label or the subject is too long", field="label")
        secret = self._credentials.new_totp_secret()
        password_hash = self._credentials.hash_password(check_password(password))
        user = StaffUser(
            name, role, norm_scope, norm_authority, label, password_hash, secret,
            oidc_subject, oidc_issuer,
        )  # fmt: skip
        claims = [OidcSubject(oidc_subject, user.id)] if oidc_subject else []
        try:
            self.save(user, *claims)
        except IntegrityError:
            raise InvalidStaffUserError(
                "That username, or that identity-provider subject, is taken", field="username"
            ) from None
        return user, secret

    def user(self, username: str) -> StaffUser:
        found = self.find(username)
        if found is None:
            raise StaffUserNotFoundError("No such staff user", field="username")
        return found

    def find(self, username: str) -> StaffUser | None:
        try:
            name = check_username(username)
        except InvalidStaffUserError:
            return None
        return self._get(StaffUser.create_id(name))

    def get(self, user_id: UUID) -> StaffUser | None:
        return self._get(user_id)

    def user_by_oidc_subject(self, issuer: str, subject: str) -> StaffUser | None:
        """The user added with this subject (and, if it names one, this issuer)."""
        try:
            claim: Aggregate = self.repository.get(OidcSubject.create_id(subject))
        except AggregateNotFoundError:
            return None
        user = self._get(claim.user_id) if isinstance(claim, OidcSubject) else None
        if user is None or (user.oidc_issuer and user.oidc_issuer != issuer):
            return None
        return user

    def check_sign_in(self, username: str, password: str, code: str) -> StaffUser:
        """The user whose password and one-time code these are; records the failure and
        raises SignInRefusedError otherwise (unknown usernames: the caller logs them)."""
        now, user = self.clock(), self.find(username)
        if user is not None and (until := user.locked_at(now)):
            self._refuse(user, "locked", now)
            raise SignInRefusedError(locked_message(until), "locked", until)
        known_hash = user.password_hash if user is not None else None
        if not self._credentials.password_matches(known_hash, password):
            if user is not None:
                self._refuse(user, "bad-password", now)
            raise SignInRefusedError(WRONG, "bad-password" if user else "unknown-user")
        assert user is not None
        if user.disabled:
            self._refuse(user, "disabled", now)
            raise SignInRefusedError("This account is disabled", "disabled")
        step = self._credentials.totp_step(user.totp_secret, code.strip(), now)
        if step is None:
            self._refuse(user, "bad-totp", now)
            raise SignInRefusedError(
                "The 6-digit code is wrong or expired: enter the code your app shows now",
                "bad-totp",
            )
        try:
            user.use_totp_step(step)
        except SignInRefusedError as refused:
            self._refuse(user, refused.reason, now)
            raise
        self.save(user)
        return user

    def refuse(self, user: StaffUser, reason: str) -> str | None:
        """Record a refusal decided elsewhere (e.g. the identity provider's sign-in)."""
        return self._refuse(user, reason, self.clock())

    def signed_in(self, user_id: UUID, method: str) -> StaffUser:
        user = self._required(user_id)
        try:
            user.signed_in(method)
        except SignInRefusedError:
            self._refuse(user, "disabled", self.clock())
            raise
        self.save(user)
        return user

    def disable(self, username: str) -> StaffUser:
        user = self.user(username)
        user.disable()
        self.save(user)
        return user

    def reset_password(self, username: str, password: str) -> StaffUser:
        user = self.user(username)
        user.reset_password(self._credentials.hash_password(check_password(password)))
        self.save(user)
        return user

    def reset_totp(self, username: str) -> tuple[StaffUser, str]:
        user, secret = self.user(username), self._credentials.new_totp_secret()
        user.reset_totp(secret)
        self.save(user)
        return user, secret

    def users(self) -> Iterator[StaffUser]:
        """Every user, in the order they were added (the log is read a page at a time)."""
        start = 1
        while page := self.recorder.select_notifications(start=start, limit=LIST_PAGE):
            for notification in page:
                if notification.originator_version != 1:
                    continue
                added = self.mapper.to_domain_event(notification)
                if isinstance(added, StaffUser.Added):
                    user = self._get(added.originator_id)
                    if user is not None:
                        yield user
            start = page[-1].id + 1

    def _refuse(self, user: StaffUser, reason: str, now: datetime) -> str | None:
        until = user.fail(reason, now, self.lockout_failures, self.lockout)
        self.save(user)
        return until

    def _required(self, user_id: UUID) -> StaffUser:
        user = self._get(user_id)
        if user is None:
            raise StaffUserNotFoundError("No such staff user", user_id=str(user_id))
        return user

    def _get(self, user_id: UUID) -> StaffUser | None:
        try:
            user: Aggregate = self.repository.get(user_id)
        except AggregateNotFoundError:
            return None
        return user if isinstance(user, StaffUser) else None


def locked_message(until: str) -> str:
    """The lockout in words, with its end in UTC to the minute."""
    when = datetime.fromisoformat(until).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Too many failed sign-ins: this account is locked until {when}"
