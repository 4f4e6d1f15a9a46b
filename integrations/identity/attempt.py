"""A sign-in attempt between the redirect to the provider and its callback: state (binds the
callback to this browser), nonce (binds the id_token to this attempt) and the PKCE verifier.

The browser keeps it in a short-lived, HttpOnly cookie, sealed with an HMAC key derived from
the client secret, so every API process can check it and no server-side store is needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

KEY_LABEL = b"newborn-ledger oidc sign-in attempt v1"


class AttemptError(Exception):
    """The attempt cookie is missing, was changed, or is too old (`reason`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attempt:
    state: str
    nonce: str
    verifier: str  # PKCE code_verifier (RFC 7636: 43-128 characters)
    started: int  # unix seconds

    @classmethod
    def new(cls, now: int) -> Attempt:
        return cls(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48), now
        )


def attempt_key(client_secret: str) -> bytes:
    """The sealing key: a rotation of the client secret also ends the attempts under way."""
    return hmac.new(client_secret.encode("utf-8"), KEY_LABEL, hashlib.sha256).digest()


def seal_attempt(attempt: Attempt, key: bytes) -> str:
    body = _b64(json.dumps([attempt.state, attempt.nonce, attempt.verifier, attempt.started]))
    return f"{body}.{_mac(body, key)}"


def unseal_attempt(value: str | None, key: bytes, *, now: int, max_age: int) -> Attempt:
    """The attempt a cookie holds; AttemptError when missing, tampered with or too old."""
    if not value:
        raise AttemptError("missing")
    body, _, mac = value.partition(".")
    if not hmac.compare_digest(mac.encode(), _mac(body, key).encode()):
        raise AttemptError("tampered")
    state, nonce, verifier, started = json.loads(base64.urlsafe_b64decode(body + "=" * 3))
    if not 0 <= now - int(started) <= max_age:
        raise AttemptError("expired")
    return Attempt(str(state), str(nonce), str(verifier), int(started))


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def _mac(body: str, key: bytes) -> str:
    digest = hmac.new(key, body.encode("ascii", "replace"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
