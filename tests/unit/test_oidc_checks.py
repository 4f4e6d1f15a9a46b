"""The OpenID Connect client's checks, without a provider: the id_token's signature and claims,
the sealed sign-in attempt, the callback's parameters, the discovery document, the settings."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from integrations.identity.attempt import (
    Attempt,
    AttemptError,
    attempt_key,
    seal_attempt,
    unseal_attempt,
)
from integrations.identity.config import OidcConfig
from integrations.identity.id_token import (
    IdTokenError,
    UnknownKeyError,
    subject_of,
    verified_claims,
)
from integrations.identity.oidc import (
    ProviderSignInError,
    check_callback,
    parse_metadata,
)

ISSUER = "https://idp.example.gov.cn/realms/staff"
CLIENT = "newborn-ledger"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_800_000_000
RS256 = ("RS256",)


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)


@pytest.fixture(scope="module")
def keys(key: RSAKey) -> KeySet:
    return KeySet([key])


def claims(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "idp-sub-1",
        "exp": NOW + 300,
        "iat": NOW - 5,
        "nonce": NONCE,
    }
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def subject(found: dict[str, Any]) -> str:
    return subject_of(found, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=NOW, leeway=60)


def refused_claim(found: dict[str, Any]) -> str:
    with pytest.raises(IdTokenError) as refused:
        subject(found)
    return refused.value.claim


def test_claims_for_this_client_and_attempt_give_the_subject() -> None:
    assert subject(claims()) == "idp-sub-1"
    assert subject(claims(aud=[CLIENT, "other"], azp=CLIENT)) == "idp-sub-1"
    assert subject(claims(exp=NOW - 30)) == "idp-sub-1"  # within the leeway


@pytest.mark.parametrize(
    ("changes", "claim"),
    [
        ({"iss": "https://idp.example.gov.cn/realms/other"}, "iss"),
        ({"iss": None}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"aud": None}, "aud"),
        ({"aud": [CLIENT, "other"]}, "azp"),  # several audiences and no azp
        ({"azp": "other"}, "azp"),
        ({"exp": NOW - 61}, "exp"),
        ({"exp": None}, "exp"),
        ({"iat": NOW + 3600}, "iat"),
        ({"nonce": "another-attempt"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "sub"),
        ({"sub": "x" * 256}, "sub"),
    ],
)
def test_a_claim_that_does_not_fit_is_refused_by_name(changes: dict[str, Any], claim: str) -> None:
    assert refused_claim(claims(**changes)) == claim


def test_a_signature_by_the_provider_key_is_verified(key: RSAKey, keys: KeySet) -> None:
    token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims(), key)
    assert verified_claims(token, keys, RS256)["sub"] == "idp-sub-1"


def test_a_token_signed_with_another_key_is_refused(keys: KeySet) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims(), other)
    with pytest.raises(IdTokenError) as refused:
        verified_claims(token, keys, RS256)
    assert refused.value.claim == "signature"


def test_an_unknown_key_id_asks_for_the_keys_again(keys: KeySet) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "rotated"}, private=True)
    token = jwt.encode({"alg": "RS256", "kid": "rotated"}, claims(), other)
    with pytest.raises(UnknownKeyError):
        verified_claims(token, keys, RS256)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_unsigned_and_symmetric_tokens_are_refused(key: RSAKey, keys: KeySet) -> None:
    header = b64(b'{"alg":"none","kid":"k1"}')
    body = b64(json.dumps(claims()).encode())
    secret = OctKey.import_key("a-client-secret-is-never-a-key-here-000000")
    hs256 = jwt.encode({"alg": "HS256", "kid": "k1"}, claims(), secret, algorithms=["HS256"])
    for token in (f"{header}.{body}.", hs256, "not.a.token", ""):
        with pytest.raises(IdTokenError):
            verified_claims(token, keys, ("RS256", "HS256", "none"))


def test_only_the_algorithms_the_provider_names_are_accepted(key: RSAKey, keys: KeySet) -> None:
    token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims(), key)
    with pytest.raises(IdTokenError):
        verified_claims(token, keys, ("ES256",))


def test_an_attempt_round_trips_and_refuses_tampering_age_and_other_keys() -> None:
    key = attempt_key("secret-one")
    attempt = Attempt.new(NOW)
    sealed = seal_attempt(attempt, key)
    assert unseal_attempt(sealed, key, now=NOW + 599, max_age=600) == attempt
    assert len(attempt.verifier) >= 43
    cases = {
        "missing": (None, key, NOW),
        "tampered": (sealed[:-2] + "AA", key, NOW),
        "expired": (sealed, key, NOW + 601),
    }
    for reason, (value, used, now) in cases.items():
        with pytest.raises(AttemptError) as refused:
            unseal_attempt(value, used, now=now, max_age=600)
        assert refused.value.reason == reason
    with pytest.raises(AttemptError):
        unseal_attempt(sealed, attempt_key("secret-two"), now=NOW, max_age=600)


def callback_refusal(params: dict[str, str]) -> ProviderSignInError:
    attempt = Attempt("the-state", NONCE, "v" * 64, int(time.time()))
    with pytest.raises(ProviderSignInError) as refused:
        check_callback(attempt, params, ISSUER)
    return refused.value


def test_the_callback_must_answer_this_attempt_from_this_provider() -> None:
    assert callback_refusal({"state": "another", "code": "c"}).reason == "oidc-state-mismatch"
    assert callback_refusal({"code": "c"}).reason == "oidc-state-mismatch"
    mixed_up = callback_refusal({"state": "the-state", "code": "c", "iss": "https://evil"})
    assert mixed_up.reason == "oidc-provider-error"
    assert callback_refusal({"state": "the-state"}).reason == "oidc-provider-error"


def test_a_provider_error_is_named_but_never_echoed_raw() -> None:
    denied = callback_refusal({"state": "the-state", "error": "access_denied"})
    assert denied.reason == "oidc-provider-error"
    assert "access_denied" in denied.detail
    odd = callback_refusal({"state": "the-state", "error": "<script>alert(1)</script>"})
    assert "script" not in odd.detail
    assert "(unknown)" in odd.detail


def discovery(**changes: Any) -> dict[str, Any]:
    document = {
        "issuer": ISSUER,
        "authorization_endpoint": ISSUER + "/auth",
        "token_endpoint": ISSUER + "/token",
        "jwks_uri": ISSUER + "/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    return {**document, **changes}


def test_the_discovery_document_must_name_our_issuer() -> None:
    assert parse_metadata(discovery(), ISSUER).token_endpoint == ISSUER + "/token"
    for bad in (discovery(issuer="https://idp.example.gov.cn/"), discovery(jwks_uri=None)):
        with pytest.raises(ProviderSignInError) as refused:
            parse_metadata(bad, ISSUER)
        assert refused.value.reason == "oidc-provider-unavailable"


def test_the_configuration_is_checked_and_keeps_its_secret() -> None:
    good = OidcConfig(
        ISSUER, CLIENT, "s3cret-value", "https://ledger.example/sign-in/oidc/callback"
    )
    assert good.problems() == []
    assert "s3cret-value" not in repr(good)
    assert good.secure_cookie
    local = OidcConfig(
        "http://127.0.0.1:9000", CLIENT, "s", "http://127.0.0.1:8000/sign-in/oidc/callback"
    )
    assert local.problems() == []
    assert not local.secure_cookie
    bad = OidcConfig("http://idp.example", "", "", "https://ledger.example/elsewhere")
    assert len(bad.problems()) == 4
