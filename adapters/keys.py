"""Cipher keys: a cipher that reads with old keys after a rotation, and the check that a store
is opened with the keys it was written with.

The store records the fingerprint of every key it has been written with (`store_keys`): an
HMAC-SHA256 of a fixed label under the key, which names the key without revealing it, or
`none` for a store written without a key. A process may open the store only when every
recorded key is configured (the current key or one of the old ones) and the store's
"without a key" and "with a key" agree; it then records its current key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from collections.abc import Callable, Iterable, Sequence

from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import Cipher, StoredEvent
from eventsourcing.utils import Environment

LABEL = b"newborn-ledger store key fingerprint v1"
NO_KEY = "none"  # the fingerprint of "written without a cipher key"
OLD_CIPHER_KEYS = "OLD_CIPHER_KEYS"  # the library-style env key of the rotating cipher
SHOWN = 12  # hex digits of a fingerprint shown in messages


class StoreKeyError(Exception):
    """The configured cipher keys cannot read this store (the message says which way)."""


def fingerprint(key: str | None) -> str:
    """`none`, or the hex HMAC-SHA256 of LABEL under the (base64) key."""
    if not key:
        return NO_KEY
    return hmac.new(base64.b64decode(key), LABEL, hashlib.sha256).hexdigest()


def split_keys(value: str | None) -> list[str]:
    """A comma-separated list of keys, without blanks."""
    return [k.strip() for k in (value or "").split(",") if k.strip()]


class RotatingAESCipher(Cipher):
    """AES-GCM that encrypts with CIPHER_KEY and decrypts with it or, failing that, with each
    of OLD_CIPHER_KEYS in turn (GCM's tag tells a wrong key apart from a right one)."""

    def __init__(self, environment: Environment) -> None:
        olds = split_keys(environment.get(OLD_CIPHER_KEYS))
        self.ciphers = [AESCipher(environment)] + [_aes(key) for key in olds]

    def encrypt(self, plaintext: bytes) -> bytes:
        return self.ciphers[0].encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        for cipher in self.ciphers[:-1]:
            try:
                return cipher.decrypt(ciphertext)
            except ValueError:
                continue
        return self.ciphers[-1].decrypt(ciphertext)


def _aes(key: str) -> AESCipher:
    return AESCipher(Environment(env={AESCipher.CIPHER_KEY: key}))


def rotating_cipher(key: str | None, old_keys: Sequence[str]) -> Cipher | None:
    """The cipher for `key` (reading with `old_keys` too), or None without a key."""
    if not key:
        return None
    env = {AESCipher.CIPHER_KEY: key, OLD_CIPHER_KEYS: ",".join(old_keys)}
    return RotatingAESCipher(Environment(env=env))


def problem(recorded: Iterable[str], key: str | None, old_keys: Sequence[str]) -> str | None:
    """Why keys `key` + `old_keys` cannot open a store written with `recorded`, or None."""
    written = set(recorded)
    if not written:
        return None
    if not key:
        if written == {NO_KEY}:
            return None
        return "the store was written with a cipher key, and NEWBORN_LEDGER_CIPHER_KEY is not set"
    if NO_KEY in written:
        return (
            "the store was written without a cipher key, and NEWBORN_LEDGER_CIPHER_KEY is set "
            "(a store cannot be encrypted afterwards: unset it)"
        )
    missing = sorted(written - {fingerprint(k) for k in [key, *old_keys]})
    if not missing:
        return None
    shown = ", ".join(m[:SHOWN] for m in missing)
    return (
        f"the store was written with a cipher key that is not configured (fingerprint {shown}): "
        "set it as NEWBORN_LEDGER_CIPHER_KEY, or keep it in NEWBORN_LEDGER_OLD_CIPHER_KEYS "
        "after a rotation"
    )


def written_with(
    first_events: Sequence[StoredEvent],
    key: str | None,
    old_keys: Sequence[str],
    readable: Callable[[StoredEvent], bool],
) -> set[str]:
    """The fingerprints a store without a record was written with, found from its first
    events: the configured keys that open them, `none` if they read without a key; empty
    when neither (written with a key that is not configured)."""
    if not key:
        return {NO_KEY} if all(readable(e) for e in first_events) else set()
    found = {fingerprint(k) for k in [key, *old_keys] if all(_opens(k, e) for e in first_events)}
    return found if len(found) == 1 else set()


def _opens(key: str, event: StoredEvent) -> bool:
    try:
        _aes(key).decrypt(event.state)
    except ValueError:
        return False
    return True


def decodes(decode: Callable[[StoredEvent], object]) -> Callable[[StoredEvent], bool]:
    """`readable` for written_with: whether `decode` (a mapper's) reads the event."""

    def readable(event: StoredEvent) -> bool:
        try:
            decode(event)
        except (ValueError, zlib.error, UnicodeDecodeError):
            return False
        return True

    return readable
