"""Issue 21's e-certificates over HTTP on each store: a completed case's five certificates
verify through /verify and, with the published JWKS, through an independent JOSE library
(jwcrypto); a tampered certificate, a wrong key and an unknown id fail with their reasons; a
correction supersedes, a void revokes, a key rotation keeps old certificates verifying, and a
withdrawn key's certificates are refused while the ledger signs them anew with the next key."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from uuid import UUID

import orjson
import pytest
from joserfc import jws
from joserfc.jwk import OKPKey
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from adapters.certificate_keys import SigningKeys
from adapters.keys import rotating_cipher
from api.app import create_app
from tests.e2e.test_corrections_and_voids import Journey, complete

CIPHER_KEY = base64.b64encode(bytes(range(32))).decode()
TYPES = {
    "birth-certificate": "birth-medical-certificate",
    "vaccination": "vaccination-record",
    "household-registration": "household-registration-record",
    "medical-insurance": "insurance-enrolment",
    "social-security-card": "social-security-card",
}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def certificates(journey: Journey, who: str = "family") -> list[dict[str, Any]]:
    token = journey.family if who == "family" else journey.admin
    answer = journey.client.get(
        f"/cases/{journey.case_id}/certificates", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.json()
    found: list[dict[str, Any]] = answer.json()["certificates"]
    return found


def verify(client: TestClient, token: str) -> dict[str, Any]:
    answer = client.post("/verify", json={"certificate": token})
    assert answer.status_code == 200, answer.json()
    result: dict[str, Any] = answer.json()
    return result


def independently_verified(client: TestClient, token: str) -> dict[str, Any]:
    """jwcrypto, with the key the JWKS publishes under the certificate's kid."""
    published = client.get("/.well-known/jwks.json")
    assert published.headers["cache-control"].startswith("public")
    keys = jwcrypto_jwk.JWKSet.from_json(published.text)
    signed = jwcrypto_jws.JWS()
    signed.deserialize(token)
    header = orjson.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    key = keys.get_key(header["kid"])
    assert key is not None
    signed.verify(key, alg="Ed25519")
    claims: dict[str, Any] = orjson.loads(signed.payload)
    return claims


def test_a_completed_case_has_five_certificates_that_verify(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-E1")
    complete(journey)
    found = certificates(journey)
    assert {c["service"]: c["certificate_type"] for c in found} == TYPES
    assert {c["status"] for c in found} == {"valid"}
    for entry in found:
        claims = independently_verified(client, entry["certificate"])
        assert claims == entry["claims"]
        assert claims["subject"] == {"name": "王小明", "birth_date": "2026-11-20"}
        assert set(claims) == {
            "iss", "jti", "iat", "certificate_type", "service", "result", "locality", "subject"
        }  # fmt: skip
        checked = verify(client, entry["certificate"])
        assert checked["status"] == "valid", checked
        assert (checked["jti"], checked["issuer"]) == (entry["jti"], claims["iss"])
        by_id = client.get(entry["verify"]).json()  # an id alone shows its status, no more
        assert by_id == {"jti": entry["jti"], "status": "valid"}
        request_id = journey.request_id(entry["service"])
        assert str(request_id) not in entry["jti"]
        assert UUID(request_id).hex not in entry["jti"]
        computed = client.get(f"/verify/{request_id}.1").json()  # from the case's public ids
        assert (computed["status"], computed["reason"]) == ("invalid", "unknown-id")
    office = client.get(
        f"/service-requests/{journey.request_id('vaccination')}",
        headers=journey.office("vaccination"),
    ).json()
    assert office["certificates"] == [c for c in found if c["service"] == "vaccination"]
    hukou = next(c for c in found if c["service"] == "household-registration")
    assert hukou["issuer"] == "urn:newborn-ledger:issuer:42:public-security"
    assert hukou["claims"]["locality"] == "420102"
    assert certificates(journey, "admin") == found  # signed again: the same bytes


def test_tampered_wrong_key_and_unknown_id_fail_with_reasons(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-E2")
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    [entry] = certificates(journey)
    token = entry["certificate"]
    head, _, signature = token.split(".")
    forged = {**entry["claims"], "subject": {"name": "李四", "birth_date": "2026-11-20"}}
    body = base64.urlsafe_b64encode(orjson.dumps(forged)).rstrip(b"=").decode()
    tampered = verify(client, f"{head}.{body}.{signature}")
    assert (tampered["status"], tampered["reason"]) == ("invalid", "bad-signature")
    assert tampered["detail"].startswith("The signature does not match")

    stranger = OKPKey.generate_key("Ed25519", private=True)
    header = {"alg": "Ed25519", "kid": stranger.thumbprint(), "typ": "nl-certificate+jwt"}
    claims = orjson.dumps(entry["claims"])
    unknown_key = verify(client, jws.serialize_compact(header, claims, stranger, ["Ed25519"]))
    assert (unknown_key["status"], unknown_key["reason"]) == ("invalid", "unknown-key")
    posing = {**header, "kid": orjson.loads(base64.urlsafe_b64decode(head + "=="))["kid"]}
    wrong_key = verify(client, jws.serialize_compact(posing, claims, stranger, ["Ed25519"]))
    assert (wrong_key["status"], wrong_key["reason"]) == ("invalid", "bad-signature")

    # signed with the office's own key (as one holding it could): the claims must be the
    # record's, and the issuer the key's office
    kid, key = container.keys.signing_key("43", "health", 0.0)
    ours = {**header, "kid": kid}
    for claimed, reason in (
        (forged, "not-the-record"),
        ({**entry["claims"], "iss": "urn:newborn-ledger:issuer:43:cdc"}, "wrong-issuer"),
    ):
        signed = jws.serialize_compact(ours, orjson.dumps(claimed), key, ["Ed25519"])
        assert verify(client, signed)["reason"] == reason

    unknown = client.get(f"/verify/{journey.request_id('vaccination')}.1").json()
    assert (unknown["status"], unknown["reason"]) == ("invalid", "unknown-id")
    assert client.get("/verify/nonsense").json()["reason"] == "unknown-id"
    sealed = entry["jti"].partition(".")[0]
    for digits in ("%C2%B2", "%D9%A1", "%EF%BC%91"):  # "²", Arabic-Indic 1, fullwidth 1
        for head in (journey.request_id("birth-certificate"), sealed):
            odd = client.get(f"/verify/{head}.{digits}")
            assert odd.status_code == 200
            assert odd.json()["reason"] == "unknown-id"
    not_jws = client.post("/verify", json={"certificate": "not a certificate"})
    assert not_jws.status_code == 422
    assert not_jws.json()["type"].endswith("not-a-certificate")
    assert client.post("/verify", json={}).status_code == 422


def test_a_correction_supersedes_and_a_void_revokes(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-E3")
    complete(journey)
    [first] = [c for c in certificates(journey) if c["service"] == "birth-certificate"]
    journey.send(replace(journey.facts, birth_weight_g=3400), "MR-E3-u", "update")
    number = {"certificate_number": "X430602002"}
    reissued = journey.act("birth-certificate", "approve-correction", number)
    assert reissued.status_code == 200, reissued.json()

    old, new = [c for c in certificates(journey) if c["service"] == "birth-certificate"]
    assert old["certificate"] == first["certificate"]
    assert (old["status"], old["superseded_by"]) == ("superseded", new["jti"])
    assert new["claims"]["supersedes"] == old["jti"]
    checked = verify(client, first["certificate"])
    assert (checked["status"], checked["superseded_by"]) == ("superseded", new["jti"])
    assert verify(client, new["certificate"])["status"] == "valid"
    listed = client.get(
        "/certificates/status", params={"issuer": "urn:newborn-ledger:issuer:43:health"}
    ).json()["certificates"]
    assert [row["jti"] for row in listed] == [old["jti"]]

    journey.send(journey.facts, "MR-E3-v", "void")
    pending = verify(client, new["certificate"])  # until the office revokes
    assert pending["status"] == "revocation-pending"
    requested = pending["revocation_requested_at"]
    assert client.get(f"/verify/{new['jti']}").json() == {
        "jti": new["jti"],
        "status": "revocation-pending",
        "revocation_requested_at": requested,
    }
    assert client.get(f"/verify/{old['jti']}").json()["status"] == "superseded"
    health = {"issuer": "urn:newborn-ledger:issuer:43:health"}
    listed = client.get("/certificates/status", params=health).json()["certificates"]
    assert [(row["jti"], row["status"]) for row in listed] == [
        (old["jti"], "superseded"),
        (new["jti"], "revocation-pending"),
    ]
    assert listed[1]["revocation_requested_at"] == requested
    everything = client.get("/certificates/status").json()["certificates"]
    assert len(everything) == 6  # the void asked every office to revoke: four others pending
    assert journey.act("birth-certificate", "revoke", {}).status_code == 200
    revoked = verify(client, new["certificate"])
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"]
    assert client.get(f"/verify/{old['jti']}").json()["status"] == "revoked"
    listed = client.get("/certificates/status", params=health).json()["certificates"]
    assert [(row["jti"], row["status"]) for row in listed] == [
        (old["jti"], "revoked"),
        (new["jti"], "revoked"),
    ]
    assert client.get("/certificates/status", params={"issuer": "x"}).status_code == 422


def test_a_rotation_keeps_old_certificates_verifying(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-E4")
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    [before] = certificates(journey)
    rotated = container.keys.rotate("43", "health")
    journey.decide("vaccination", {"vaccination_record_number": "VR-430602-0001"})
    [again, vaccination] = certificates(journey)
    assert again["certificate"] == before["certificate"]  # the old key still signs it
    assert verify(client, before["certificate"])["status"] == "valid"
    assert independently_verified(client, before["certificate"]) == before["claims"]
    assert verify(client, vaccination["certificate"])["kid"] != rotated.kid  # cdc's own key
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    first_kid = verify(client, before["certificate"])["kid"]
    assert {rotated.kid, first_kid} <= {k["kid"] for k in keys}
    assert all("d" not in k for k in keys)  # public halves only
    journey.send(replace(journey.facts, birth_weight_g=3400), "MR-E4-u", "update")
    journey.act("birth-certificate", "approve-correction", {"certificate_number": "X430602002"})
    newest = certificates(journey)[1]
    assert verify(client, newest["certificate"])["kid"] == rotated.kid


def test_the_status_list_reads_only_what_the_log_added(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    journey = Journey(client, container, "MR-E5")
    complete(journey)
    recorder = container.ledger.recorder
    reads: list[int] = []
    select = recorder.select_notifications

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs.get("start", args[0] if args else 0))
        return select(*args, **kwargs)

    monkeypatch.setattr(recorder, "select_notifications", counted)
    assert client.get("/certificates/status").json()["certificates"] == []
    assert reads  # the first call reads the log
    head = recorder.max_notification_id()
    reads.clear()
    assert client.get("/certificates/status").json()["certificates"] == []
    assert reads == []  # the log has not moved: no scan

    journey.send(journey.facts, "MR-E5-v", "void")
    assert journey.act("birth-certificate", "revoke", {}).status_code == 200
    [revoked] = [c for c in certificates(journey) if c["service"] == "birth-certificate"]
    reads.clear()
    listed = client.get("/certificates/status").json()["certificates"]
    assert [(row["jti"], row["status"]) for row in listed if row["jti"] == revoked["jti"]] == [
        (revoked["jti"], "revoked")
    ]
    assert reads[0] == head  # read on from where it stopped, not from the start
    office = client.get(
        "/certificates/status", params={"issuer": "urn:newborn-ledger:issuer:43:cdc"}
    ).json()["certificates"]
    assert {row["issuer"] for row in office} <= {"urn:newborn-ledger:issuer:43:cdc"}


def test_a_withdrawn_key_signs_nothing_trusted_and_the_family_gets_new_certificates(
    client: TestClient, container: Container
) -> None:
    """A compromised key withdrawn: out of the JWKS, what it signed `invalid` with reason
    `key-withdrawn` (the signature itself still matches), a new key signs the office's new
    certificates and, read again from the ledger, the old decisions' certificates, which then
    verify, through /verify and independently; another office's keys are untouched. The
    withdrawal is kept on the store, its reason and who encrypted with a cipher."""
    journey = Journey(client, container, "MR-E6")
    journey.decide("birth-certificate", {"certificate_number": "X430602006"})
    journey.decide("vaccination", {"vaccination_record_number": "VR-430602-0006"})
    before, vaccination = certificates(journey)
    compromised = verify(client, before["certificate"])["kid"]
    withdrawal, new = container.keys.withdraw("43", "health", "leaked in a backup", "ops")
    assert withdrawal.kid == compromised
    assert new is not None
    assert new.generation == 2
    refused = verify(client, before["certificate"])
    assert (refused["status"], refused["reason"]) == ("invalid", "key-withdrawn")
    assert "withdrawn" in refused["detail"]
    published = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert compromised not in published
    assert new.kid in published
    key_set = jwcrypto_jwk.JWKSet.from_json(client.get("/.well-known/jwks.json").text)
    assert key_set.get_key(compromised) is None  # an independent verifier cannot find it
    again, vaccination_again = certificates(journey)
    assert again["jti"] == before["jti"]
    assert again["claims"] == before["claims"]  # the record's claims, signed anew
    assert again["certificate"] != before["certificate"]
    assert vaccination_again["certificate"] == vaccination["certificate"]  # cdc's key holds
    resigned = verify(client, again["certificate"])
    assert (resigned["status"], resigned["kid"]) == ("valid", new.kid)
    assert independently_verified(client, again["certificate"]) == before["claims"]
    assert client.get(f"/verify/{before['jti']}").json()["status"] == "valid"  # the record's
    journey.send(replace(journey.facts, birth_weight_g=3300), "MR-E6-u", "update")
    journey.act("birth-certificate", "approve-correction", {"certificate_number": "X430602007"})
    assert verify(client, certificates(journey)[1]["certificate"])["kid"] == new.kid
    with pytest.raises(ValueError, match="withdrawn already"):
        container.keys.withdraw("43", "health", "again", "ops", kid=compromised)
    with pytest.raises(KeyError):
        container.keys.withdraw("43", "health", "no such", "ops", kid="nope")
    # on the store: what is withdrawn and when in clear, the reason and who encrypted
    sealing = SigningKeys(container.keys.store, rotating_cipher(CIPHER_KEY, []))
    cdc, _ = sealing.withdraw("43", "cdc", "密钥泄露", "运维")
    stored = {w.kid: w for w in container.keys.store.withdrawals()}
    assert set(stored) == {compromised, cdc.kid}
    assert stored[cdc.kid].sealed == 1
    assert "泄露".encode() not in base64.b64decode(stored[cdc.kid].record)
    assert sealing.withdrawal_record(stored[cdc.kid]) == {"reason": "密钥泄露", "by": "运维"}
    assert container.keys.withdrawal_record(stored[compromised])["reason"] == "leaked in a backup"
    refused_cdc = verify(client, vaccination["certificate"])
    assert refused_cdc["reason"] == "key-withdrawn"
