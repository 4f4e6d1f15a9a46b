"""Password hashes (argon2id, argon2-cffi) and one-time codes (TOTP, RFC 6238, pyotp): the
Credentials port of domain/kernel/staff.py."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from adapters.settings import Settings
from domain.kernel.staff_accounts import StaffAccounts

DIGITS, PERIOD = 6, 30
WINDOW = 1  # a code of the step before or after now is accepted too (clocks drift)
ISSUER = "newborn-ledger"


class Argon2Totp:
    """argon2id with the library's defaults (RFC 9106 low-memory profile); 160-bit TOTP
    secrets in base32, 6 digits, 30-second steps."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash("not a password of anyone")  # unknown users: same work

    def hash_password(self, password: str) -> str:
        return self.hasher.hash(password)

    def password_matches(self, password_hash: str | None, password: str) -> bool:
        try:
            matched = self.hasher.verify(password_hash or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    def new_totp_secret(self) -> str:
        return pyotp.random_base32(32)

    def totp_step(self, secret: str, code: str, at: datetime) -> int | None:
        if len(code) != DIGITS or not code.isascii() or not code.isdigit():
            return None
        totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
        now = totp.timecode(at)
        for step in range(now - WINDOW, now + WINDOW + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return None


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads (as text or a QR code)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def staff_accounts(settings: Settings) -> StaffAccounts:
    """The StaffAccounts application on the configured store, with argon2id and TOTP and the
    configured lockout."""
    staff = StaffAccounts(env=settings.app_env(StaffAccounts.name))
    staff.credentials = Argon2Totp()
    staff.lockout_failures = settings.accounts.lockout_failures
    staff.lockout = timedelta(minutes=settings.accounts.lockout_minutes)
    return staff
