"""Staff accounts (domain/kernel/staff*.py, adapters/sign_in.py) in memory: adding users,
password + TOTP sign-in, the replay guard, lockout and its clear message, disabling (its
sessions end), resets, the OIDC subject lookup, sessions' idle and absolute ends, the
sign-in log, and no secret in a repr."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher

from adapters.bootstrap import Container, build
from adapters.credentials import Argon2Totp, provisioning_uri
from adapters.settings import AccountSettings, Settings
from adapters.sign_in import (
    disable_user,
    end_session,
    find_session,
    open_session,
    password_sign_in,
    record_sign_in_refused,
    reset_password,
    session_hash,
)
from domain.kernel.actors import InvalidActorError
from domain.kernel.staff import InvalidStaffUserError, SignInRefusedError, StaffUser

NOW = datetime(2026, 12, 7, 2, 0, 10, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only


@pytest.fixture
def container() -> Iterator[Container]:
    settings = Settings(persistence="memory", accounts=AccountSettings(lockout_failures=3))
    built = build(settings)
    built.staff.credentials = Argon2Totp(FAST)
    built.staff.clock = lambda: NOW
    yield built
    built.close()


def clerk(container: Container, username: str = "clerk.wang") -> tuple[StaffUser, str]:
    return container.staff.add(username, "office", "430602", "cdc", PASSWORD, label="窗口")


def code(secret: str, at: datetime = NOW) -> str:
    return pyotp.TOTP(secret).at(at)


def refused(container: Container, *args: str) -> SignInRefusedError:
    with pytest.raises(SignInRefusedError) as caught:
        password_sign_in(container, *args)
    return caught.value


def test_a_clerk_signs_in_with_password_and_code_and_has_a_session(
    container: Container,
) -> None:
    user, secret = clerk(container)
    assert (user.role, user.scope, user.authority) == ("office", "430602", "cdc")
    signed, cookie, csrf = password_sign_in(container, "Clerk.Wang", PASSWORD, code(secret))
    assert signed.id == user.id
    found = find_session(container, cookie)
    assert found is not None
    assert found.csrf == csrf
    principal = found.principal
    assert (principal.actor_id, principal.role, principal.scope) == (user.id, "office", "430602")
    assert (principal.authority, principal.user) == ("cdc", "clerk.wang")
    assert container.sessions.get(session_hash(cookie)) is not None
    assert container.sessions.get(cookie) is None  # stored by its hash only
    end_session(container, cookie)
    assert find_session(container, cookie) is None


def test_a_wrong_code_a_replayed_code_and_a_wrong_password_are_refused(
    container: Container,
) -> None:
    _, secret = clerk(container)
    assert refused(container, "clerk.wang", PASSWORD, "000000").reason in ("bad-totp",)
    password_sign_in(container, "clerk.wang", PASSWORD, code(secret))
    replay = refused(container, "clerk.wang", PASSWORD, code(secret))
    assert replay.reason == "totp-replayed"
    assert "used already" in replay.detail
    earlier = refused(container, "clerk.wang", PASSWORD, code(secret, NOW - timedelta(seconds=30)))
    assert earlier.reason in ("totp-replayed", "locked")
    wrong = refused(container, "nobody", PASSWORD, code(secret))
    assert (wrong.reason, wrong.detail) == ("unknown-user", "The username or the password is wrong")


def test_failures_in_a_row_lock_the_user_with_a_message_naming_until_when(
    container: Container,
) -> None:
    _, secret = clerk(container)
    for _ in range(2):
        assert refused(container, "clerk.wang", "wrong password!!", "123456").reason == (
            "bad-password"
        )
    refused(container, "clerk.wang", PASSWORD, "000000")  # the third failure locks
    locked = refused(container, "clerk.wang", PASSWORD, code(secret))  # right, but locked
    assert locked.reason == "locked"
    assert locked.detail == (
        "Too many failed sign-ins: this account is locked until 2026-12-07 02:15 UTC"
    )
    container.staff.clock = lambda: NOW + timedelta(minutes=16)
    later = NOW + timedelta(minutes=16)
    password_sign_in(container, "clerk.wang", PASSWORD, code(secret, later))
    user = container.staff.user("clerk.wang")
    assert (user.failures, user.locked_until) == (0, None)


def test_a_new_password_lifts_a_lockout_and_ends_the_sessions(container: Container) -> None:
    _, secret = clerk(container)
    _, cookie, _ = password_sign_in(container, "clerk.wang", PASSWORD, code(secret))
    for _ in range(3):
        refused(container, "clerk.wang", "not the password", "123456")
    assert reset_password(container, "clerk.wang", "a brand new passphrase") == 1
    assert find_session(container, cookie) is None
    later = NOW + timedelta(seconds=30)
    container.staff.clock = lambda: later
    password_sign_in(container, "clerk.wang", "a brand new passphrase", code(secret, later))
    with pytest.raises(InvalidStaffUserError):
        reset_password(container, "clerk.wang", "short")


def test_a_disabled_user_is_refused_and_its_sessions_end(container: Container) -> None:
    user, secret = clerk(container)
    _, cookie, _ = password_sign_in(container, "clerk.wang", PASSWORD, code(secret))
    assert disable_user(container, "clerk.wang") == 1
    assert find_session(container, cookie) is None
    later = NOW + timedelta(seconds=30)
    container.staff.clock = lambda: later
    assert refused(container, "clerk.wang", PASSWORD, code(secret, later)).reason == "disabled"
    with pytest.raises(SignInRefusedError):
        open_session(container, user)


def test_a_new_totp_secret_replaces_the_old_one(container: Container) -> None:
    _, old = clerk(container)
    _, new = container.staff.reset_totp("clerk.wang")
    assert new != old
    assert refused(container, "clerk.wang", PASSWORD, code(old)).reason == "bad-totp"
    password_sign_in(container, "clerk.wang", PASSWORD, code(new))
    assert provisioning_uri(new, "clerk.wang").startswith("otpauth://totp/newborn-ledger:")


def test_users_are_checked_and_unique(container: Container) -> None:
    clerk(container)
    with pytest.raises(InvalidStaffUserError, match="taken"):
        clerk(container)
    with pytest.raises(InvalidStaffUserError):
        container.staff.add("a b", "office", "430602", "cdc", PASSWORD)
    with pytest.raises(InvalidStaffUserError):
        container.staff.add("clerk.li", "family", "x", None, PASSWORD)
    with pytest.raises(InvalidActorError):
        container.staff.add("clerk.li", "office", "430602", "nowhere", PASSWORD)
    admin, _ = container.staff.add("root", "admin", None, None, PASSWORD)
    assert admin.scope == "all"
    assert [u.username for u in container.staff.users()] == ["clerk.wang", "root"]


def test_an_oidc_subject_finds_its_user_and_opens_a_session(container: Container) -> None:
    user, _ = container.staff.add(
        "clerk.zhao", "office", "430602", "cdc", PASSWORD, oidc_subject="sub-1",
        oidc_issuer="https://id.example.cn",
    )  # fmt: skip
    found = container.staff.user_by_oidc_subject("https://id.example.cn", "sub-1")
    assert found is not None
    assert found.id == user.id
    assert container.staff.user_by_oidc_subject("https://other.example.cn", "sub-1") is None
    assert container.staff.user_by_oidc_subject("https://id.example.cn", "sub-2") is None
    with pytest.raises(InvalidStaffUserError, match="taken"):
        container.staff.add("clerk.qian", "office", "430602", "cdc", PASSWORD, oidc_subject="sub-1")
    cookie, _csrf = open_session(container, found)
    assert find_session(container, cookie) is not None
    record_sign_in_refused(container, method="oidc", reason="no-account", attempted="sub-2")
    newest = container.sessions.sign_ins()
    assert [(r.method, r.outcome, r.reason, r.username) for r in newest[:2]] == [
        ("oidc", "refused", "no-account", ""),
        ("oidc", "signed-in", "", "clerk.zhao"),
    ]
    assert newest[0].attempted_hash
    assert "sub-2" not in repr(newest[0])


def test_sessions_end_when_idle_and_at_their_absolute_end(container: Container) -> None:
    _, secret = clerk(container)
    _, cookie, _ = password_sign_in(container, "clerk.wang", PASSWORD, code(secret))
    key, row = session_hash(cookie), container.sessions.get(session_hash(cookie))
    assert row is not None
    idle = container.settings.accounts.session_idle_s
    container.sessions.create(replace(row, seen_at=time.time() - idle - 1))
    assert find_session(container, cookie) is None
    assert container.sessions.get(key) is None  # deleted when found ended
    container.sessions.create(replace(row, expires_at=time.time() - 1))
    assert find_session(container, cookie) is None


def test_the_sign_in_log_keeps_users_and_only_hashes_of_unknown_names(
    container: Container,
) -> None:
    _, secret = clerk(container)
    refused(container, "clerk.wang", "wrong password!!", "123456")
    refused(container, "my-password-typed-here", PASSWORD, "123456")
    password_sign_in(container, "clerk.wang", PASSWORD, code(secret))
    rows = container.sessions.sign_ins()
    assert [(r.username, r.outcome, r.reason) for r in rows] == [
        ("clerk.wang", "signed-in", ""),
        ("", "refused", "unknown-user"),
        ("clerk.wang", "refused", "bad-password"),
    ]
    assert "my-password" not in repr(rows)
    assert [r.reason for r in container.sessions.sign_ins("clerk.wang")] == ["", "bad-password"]


def test_no_secret_in_a_repr(container: Container) -> None:
    user, secret = clerk(container)
    container.staff.reset_totp("clerk.wang")
    reset_password(container, "clerk.wang", "another long passphrase")
    events = list(container.staff.events.get(user.id))
    assert len(events) == 3
    stored: object = container.staff.repository.get(user.id)
    for text in (repr(user), repr(stored), *map(repr, events)):
        assert secret not in text
        assert "argon2" not in text
        assert "clerk.wang" not in text
    _, secret = container.staff.reset_totp("clerk.wang")
    password = "another long passphrase"
    _, cookie, csrf = password_sign_in(container, "clerk.wang", password, code(secret))
    found = find_session(container, cookie)
    assert found is not None
    assert cookie not in repr(found)
    assert csrf not in repr(found)
    assert csrf not in repr(container.sessions.get(session_hash(cookie)))
