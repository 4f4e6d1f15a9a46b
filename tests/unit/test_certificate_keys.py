"""The e-certificates' keys in memory: first made on need, the key in force at a decision's
time, rotation keeping the old keys, and private halves sealed with the store's cipher."""

from __future__ import annotations

import base64

import orjson

from adapters.certificate_keys import InMemoryKeyStore, SigningKeys, Withdrawal
from adapters.keys import rotating_cipher
from domain.kernel.certificates import issuer, parse_certificate_id

KEY = base64.b64encode(bytes(range(32))).decode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_key_in_force_at_the_decision_signs_and_rotation_keeps_the_old() -> None:
    clock = Clock()
    keys = SigningKeys(InMemoryKeyStore(), None, clock)
    first, _ = keys.signing_key("43", "health", at=10.0)  # decided before the series began
    assert keys.signing_key("43", "health", at=2000.0)[0] == first
    clock.now = 3000.0
    rotated = keys.rotate("43", "health")
    assert keys.signing_key("43", "health", at=2000.0)[0] == first
    assert keys.signing_key("43", "health", at=3000.0)[0] == rotated.kid
    rows = keys.store.rows(issuer("43", "health"))
    assert [(r.generation, r.retired_at) for r in rows] == [(1, 3000.0), (2, None)]
    assert {k["kid"] for k in keys.jwks()["keys"]} == {first, rotated.kid}
    assert all(set(k) == {"kty", "crv", "x", "kid", "alg", "use"} for k in keys.jwks()["keys"])


def test_private_keys_are_sealed_with_the_store_s_cipher() -> None:
    keys = SigningKeys(InMemoryKeyStore(), rotating_cipher(KEY, []))
    kid, _ = keys.signing_key("42", "public-security", at=0.0)
    row = keys.store.get(kid)
    assert row is not None
    assert row.sealed == 1
    stored = base64.b64decode(row.private_key)
    assert b'"d"' not in stored  # not the JWK in clear
    fresh = SigningKeys(keys.store, rotating_cipher(KEY, []))  # another process: decrypts
    assert fresh.signing_key("42", "public-security", at=0.0)[0] == kid
    assert "d" not in orjson.loads(row.public_jwk)


def test_certificate_ids_parse_only_when_well_formed() -> None:
    sealed = "0123456789abcdef" * 2
    assert parse_certificate_id(f"{sealed}.2") == (sealed, 2)
    assert parse_certificate_id(f"{sealed}.999999") == (sealed, 999999)
    for bad in ("nonsense", "x.1", f"{sealed}.0", ".1", "a.b", f"{sealed.upper()}.1"):
        assert parse_certificate_id(bad) is None
    for revision in ("1234567", "-1", " 1", "1\n"):
        assert parse_certificate_id(f"{sealed}.{revision}") is None


def test_a_withdrawn_key_leaves_the_jwks_and_the_current_key_signs_its_decisions() -> None:
    """Generation 1 retired, 2 signing and then withdrawn: 3 is made; decisions of 2's time
    are signed by 3, those of 1's time still by 1 (not compromised), later ones by 3."""
    clock = Clock()
    keys = SigningKeys(InMemoryKeyStore(), None, clock)
    first, _ = keys.signing_key("43", "health", at=1000.0)
    clock.now = 2000.0
    second = keys.rotate("43", "health").kid
    clock.now = 3000.0
    withdrawal, new = keys.withdraw("43", "health", "leaked", "ops")
    assert (withdrawal.kid, withdrawal.withdrawn_at) == (second, 3000.0)
    assert new is not None
    assert new.generation == 3
    assert keys.signing_key("43", "health", at=1500.0)[0] == first
    assert keys.signing_key("43", "health", at=2500.0)[0] == new.kid
    assert keys.signing_key("43", "health", at=3500.0)[0] == new.kid
    assert {k["kid"] for k in keys.jwks()["keys"]} == {first, new.kid}
    # a retired key withdrawn: no new key, its decisions signed by the current one
    retired, none = keys.withdraw("43", "health", "old backup lost", "ops", kid=first)
    assert (retired.kid, none) == (first, None)
    assert keys.signing_key("43", "health", at=1500.0)[0] == new.kid
    assert {k["kid"] for k in keys.jwks()["keys"]} == {new.kid}
    assert keys.withdrawal_record(retired) == {"reason": "old backup lost", "by": "ops"}


def test_a_withdrawal_whose_new_key_was_not_made_makes_it_on_the_next_signing() -> None:
    """The withdrawal is recorded first: if its process stops before the new key is made,
    the next signing makes it (nothing is ever signed with the withdrawn key)."""
    keys = SigningKeys(InMemoryKeyStore(), rotating_cipher(KEY, []))
    kid, _ = keys.signing_key("42", "cdc", at=0.0)
    keys.store.withdraw(Withdrawal(kid, issuer("42", "cdc"), 1.0, "", 0))
    signing, _ = keys.signing_key("42", "cdc", at=0.0)
    assert signing != kid
    assert [r.generation for r in keys.store.rows(issuer("42", "cdc"))] == [1, 2]
