"""Cipher keys: fingerprints, the rotating cipher, and which keys may open a store."""

from __future__ import annotations

import base64

import pytest
from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

from adapters.keys import NO_KEY, RotatingAESCipher, fingerprint, problem, rotating_cipher

A = base64.b64encode(bytes(range(32))).decode()
B = base64.b64encode(bytes(range(1, 33))).decode()
C = base64.b64encode(bytes(range(2, 18))).decode()  # 16 bytes


def aes(key: str) -> AESCipher:
    return AESCipher(Environment(env={"CIPHER_KEY": key}))


def test_a_fingerprint_names_a_key_without_showing_it() -> None:
    assert fingerprint(A) == fingerprint(A)
    assert len({fingerprint(A), fingerprint(B), fingerprint(C), fingerprint(None)}) == 4
    assert fingerprint(None) == NO_KEY
    raw = base64.b64decode(A)
    assert raw.hex() not in fingerprint(A)
    assert A not in fingerprint(A)


def test_the_rotating_cipher_writes_with_the_new_key_and_reads_with_the_old_ones() -> None:
    cipher = RotatingAESCipher(Environment(env={"CIPHER_KEY": B, "OLD_CIPHER_KEYS": f"{A}, {C}"}))
    old, older = aes(A).encrypt(b"old"), aes(C).encrypt(b"older")
    assert cipher.decrypt(old) == b"old"
    assert cipher.decrypt(older) == b"older"
    new = cipher.encrypt(b"new")
    assert aes(B).decrypt(new) == b"new"
    with pytest.raises(ValueError, match="damaged"):
        aes(A).decrypt(new)
    with pytest.raises(ValueError, match="damaged"):  # a key it does not hold
        cipher.decrypt(aes(base64.b64encode(bytes(32)).decode()).encrypt(b"x"))


def test_the_rotating_cipher_without_old_keys_is_the_library_cipher() -> None:
    cipher = rotating_cipher(A, ())
    assert cipher is not None
    assert aes(A).decrypt(cipher.encrypt(b"x")) == b"x"
    assert cipher.decrypt(aes(A).encrypt(b"y")) == b"y"
    assert rotating_cipher(None, ()) is None


@pytest.mark.parametrize(
    ("recorded", "key", "old", "message"),
    [
        (set(), None, (), None),
        (set(), A, (), None),
        ({NO_KEY}, None, (), None),
        ({fingerprint(A)}, A, (), None),
        ({fingerprint(A)}, B, (A,), None),
        ({fingerprint(A), fingerprint(B)}, B, (A,), None),
        ({fingerprint(A)}, B, (), "not configured (fingerprint " + fingerprint(A)[:12]),
        ({fingerprint(A), fingerprint(B)}, B, (), "not configured"),
        ({fingerprint(A)}, None, (), "written with a cipher key, and NEWBORN_LEDGER_CIPHER_KEY"),
        ({NO_KEY}, A, (), "written without a cipher key"),
    ],
)
def test_which_keys_may_open_a_store(
    recorded: set[str], key: str | None, old: tuple[str, ...], message: str | None
) -> None:
    found = problem(recorded, key, old)
    if message is None:
        assert found is None
    else:
        assert found is not None
        assert message in found
        assert A not in found
        assert B not in found
