"""E-certificates as compact JWS (RFC 7515, alg Ed25519 per RFC 9864, through joserfc):
issued from the ledger at read time, verified for anyone, with a status list per issuer.

A certificate is signed when it is read, with the key its office held at the decision's time
(adapters/certificate_keys.py): Ed25519 signatures are deterministic, so the same decision
always gives the same bytes, and no certificate can differ from the record. If that key was
withdrawn (compromised), the office's current key signs it instead, and what the withdrawn
key signed verifies `invalid`, `key-withdrawn`. The ledger is the
truth for its status: a certificate is `valid`, `superseded` by an approved correction's
certificate, `revocation-pending` (a void asked its office to revoke it), `revoked` by a void,
or `invalid` (with the reason).

A certificate's id is "<sealed request id>.<revision>" (CertificateIds): the request id's 16
bytes through AES-256 (one block: a keyed permutation) under a key derived from the store's
cipher key, in hex. Nobody without the key can compute a case's certificate ids from its public
inputs (the hospital's USCC, the record number, the service), nor match the status list's ids
against ids computed offline; the ledger opens the id back to its request, with no index to
keep. The old cipher keys still open ids made before a key rotation. Without a cipher key the
permutation's key is a fixed public one: the ids are then plain deterministic, computable by
anyone who has this code (docs/api.md says so)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

import orjson
from Crypto.Cipher import AES
from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from adapters.certificate_keys import SigningKeys
from domain.kernel.certificates import (
    HEADER_TYPE,
    Issue,
    Record,
    Seal,
    parse_certificate_id,
    record_of,
)
from domain.kernel.service_request import ServiceRequest
from domain.wings import certificate_kinds
from integrations.certificates import jose
from integrations.certificates.jose import ALG, NotACertificateError

# What GET /verify/{jti} answers besides the status: when it changed and to what, never what
# the certificate states, who issued it, where or when (the holder of the signed certificate
# sees that through POST /verify)
STATUS_FIELDS = ("superseded_by", "superseded_at", "revocation_requested_at", "revoked_at")
MAX_ATTEMPTS = 20  # resubmissions of one service a case can hold (far more than happen)
ID_LABEL = b"newborn-ledger/certificate-id/v1"
# the events that make a certificate other than valid, or change how it is not (the status list)
CHANGES = [
    get_topic(ServiceRequest.CorrectionApproved),
    get_topic(ServiceRequest.RevocationRequested),
    get_topic(ServiceRequest.Revoked),
]


class CertificateIds:
    """Request ids sealed into certificate ids and opened again: AES-256 of the id's one
    block under each key, the first sealing, every one opening (older keys after a rotation)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        assert keys
        assert all(len(key) == 32 for key in keys)
        self.keys = tuple(keys)

    @classmethod
    def of(cls, cipher_key: str | None, old_cipher_keys: Sequence[str] = ()) -> CertificateIds:
        """Keys derived from the store's cipher keys (HMAC-SHA256 of a label), or the fixed
        public key without one: deterministic ids anyone can compute."""
        if not cipher_key:
            return cls([hashlib.sha256(ID_LABEL).digest()])
        return cls(
            [
                hmac.new(base64.b64decode(key), ID_LABEL, hashlib.sha256).digest()
                for key in (cipher_key, *old_cipher_keys)
            ]
        )

    def seal(self, request_id: UUID, key: int = 0) -> str:
        sealed: bytes = _block(self.keys[key]).encrypt(request_id.bytes)
        return sealed.hex()

    def sealing(self, key: int) -> Seal:
        return lambda request_id: self.seal(request_id, key)

    def opened(self, sealed: str) -> Iterator[tuple[UUID, Seal]]:
        """The request id `sealed` opens to under each key, with the seal of that key."""
        block = bytes.fromhex(sealed)
        for key in range(len(self.keys)):
            opened: bytes = _block(self.keys[key]).decrypt(block)
            yield UUID(bytes=opened), self.sealing(key)


def _block(key: bytes) -> Any:
    # one 16-byte block, no chaining: ECB of a single block is the bare permutation
    return AES.new(key, AES.MODE_ECB)


class Certificates:
    """The ledger's certificates: signed on reading, verified against the record; the status
    list kept in memory from the log's position it was last read up to."""

    def __init__(self, ledger: Application[UUID], keys: SigningKeys, ids: CertificateIds) -> None:
        self.ledger, self.keys, self.ids = ledger, keys, ids
        self._listed: dict[UUID, list[dict[str, Any]]] = {}  # request → its rows, log order
        self._position = 0  # the log's notifications read into `_listed`
        self._lock = threading.Lock()

    def record(self, request_id: UUID, seal: Seal | None = None) -> Record:
        events = self.ledger.repository.event_store.get(request_id)
        return record_of(
            (e for e in events if isinstance(e, ServiceRequest.Event)),
            seal or self.ids.seal,
            certificate_kinds(),
        )

    def sign(self, issue: Issue) -> str:
        kid, key = self.keys.signing_key(
            issue.province, issue.authority, issue.issued_at.timestamp()
        )
        header = {"alg": ALG, "kid": kid, "typ": HEADER_TYPE}
        return jose.sign(header, orjson.dumps(issue.claims()), key)

    def of_request(self, request_id: UUID) -> list[dict[str, Any]]:
        """Every certificate the request issued, oldest first, each with its status."""
        record = self.record(request_id)
        return [self.entry(record, issue) for issue in record.issues]

    def of_case(self, case_id: UUID) -> list[dict[str, Any]]:
        """The case's certificates: of each service's attempts, those that issued one."""
        return [entry for rid in self._requests(case_id) for entry in self.of_request(rid)]

    def _requests(self, case_id: UUID) -> Iterator[UUID]:
        for service in certificate_kinds():
            for attempt in range(1, MAX_ATTEMPTS + 1):
                request_id = ServiceRequest.create_id(case_id, service, attempt)
                if not self._exists(request_id):
                    break
                yield request_id

    def _exists(self, request_id: UUID) -> bool:
        return next(self.ledger.repository.event_store.get(request_id, limit=1), None) is not None

    def entry(self, record: Record, issue: Issue) -> dict[str, Any]:
        return {
            "jti": issue.jti,
            "service": issue.service,
            "certificate_type": issue.certificate_type,
            "revision": issue.revision,
            "issuer": issue.iss,
            **record.status(issue.revision),
            "claims": issue.claims(),
            "certificate": self.sign(issue),
            "verify": f"/verify/{issue.jti}",
        }

    def lookup(self, jti: str) -> dict[str, Any]:
        """A certificate id's status (GET /verify/{jti}): only the status and when it changed,
        nothing the certificate states."""
        found = self._issue(jti)
        if isinstance(found, str):
            return {"jti": jti, **_invalid(found)}
        record, issue = found
        status = record.status(issue.revision)
        return {"jti": jti, "status": status["status"]} | {
            k: v for k, v in status.items() if k in STATUS_FIELDS
        }

    def _issue(self, jti: str) -> tuple[Record, Issue] | str:
        parsed = parse_certificate_id(jti)
        if parsed is None:
            return "unknown-id"
        sealed, revision = parsed
        for request_id, seal in self.ids.opened(sealed):
            record = self.record(request_id, seal)
            if revision <= len(record.issues):
                return record, record.issues[revision - 1]
        return "unknown-id"

    def verify(self, token: str) -> dict[str, Any]:
        """POST /verify: the signature against the published key, the issuer against the
        key's office, the claims against the record, then the record's status."""
        header, claims = jose.parts(token)
        answer: dict[str, Any] = {
            "kid": _text(header.get("kid")),
            "issuer": _text(claims.get("iss")),
            "claims": claims,
        }
        reason = self._check(token, header, claims)
        if reason is not None:
            return answer | _invalid(reason)
        found = self._issue(str(claims.get("jti", "")))
        if isinstance(found, str):
            return answer | _invalid(found)
        record, issue = found
        if issue.claims() != claims:
            return answer | _invalid("not-the-record")
        return answer | {"jti": issue.jti, **_stated(issue), **record.status(issue.revision)}

    def _check(self, token: str, header: dict[str, Any], claims: dict[str, Any]) -> str | None:
        if header.get("alg") != ALG or header.get("typ") != HEADER_TYPE:
            return "unsupported-type"
        row = self.keys.public_key(str(header.get("kid", "")))
        if row is None:
            return "unknown-key"
        if row.kid in self.keys.withdrawn():
            return "key-withdrawn"
        if (reason := jose.check(token, orjson.loads(row.public_jwk))) is not None:
            return reason
        if claims.get("iss") != row.issuer:
            return "wrong-issuer"
        return None

    def status_list(self, of_issuer: str | None) -> dict[str, Any]:
        """Every certificate no longer valid, of one issuer or all: the superseded (by which),
        those whose revocation is pending (since when) and the revoked (when). Only
        corrections and voids make one: the rows are kept from the log of those events, read
        on from where the last call stopped, and only when the log has moved since."""
        with self._lock:
            head = self.ledger.recorder.max_notification_id() or 0
            if head != self._position:
                for request_id in dict.fromkeys(self._changed(self._position)):
                    self._listed[request_id] = self._rows(self.record(request_id))
                self._position = head
            rows = [row for rows in self._listed.values() for row in rows]
        return {
            "issuer": of_issuer,
            "certificates": [row for row in rows if of_issuer in (None, row["issuer"])],
        }

    def _rows(self, record: Record) -> list[dict[str, Any]]:
        statuses = ((issue, record.status(issue.revision)) for issue in record.issues)
        return [
            {"jti": issue.jti, "issuer": issue.iss, **status}
            for issue, status in statuses
            if status["status"] != "valid"
        ]

    def _changed(self, start: int) -> Iterator[UUID]:
        """The requests of the corrections and voids logged after `start`."""
        recorder = self.ledger.recorder
        while page := recorder.select_notifications(
            start=start, limit=500, topics=CHANGES, inclusive_of_start=False
        ):
            yield from (UUID(str(n.originator_id)) for n in page)
            start = page[-1].id


# why a certificate is invalid, in words a verification page can show (docs/api.md)
REASONS = {
    "unsupported-type": "Not an e-certificate of this ledger (alg Ed25519, typ nl-certificate+jwt)",
    "unknown-key": "Signed with a key the ledger does not publish",
    "key-withdrawn": "Signed with a key the ledger has withdrawn (compromised): read the "
    "certificate again from the ledger, signed with the office's current key",
    "bad-signature": "The signature does not match: the certificate was altered, or signed "
    "with another key",
    "malformed": "The signature could not be read",
    "wrong-issuer": "The issuer named is not the office whose key signed it",
    "unknown-id": "The ledger issued no certificate with this id",
    "not-the-record": "Signed by the ledger's key, but not what the ledger holds",
}


def _invalid(reason: str) -> dict[str, str]:
    return {"status": "invalid", "reason": reason, "detail": REASONS[reason]}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _stated(issue: Issue) -> dict[str, Any]:
    """What the certificate states, as a page shows it."""
    return {
        "issuer": issue.iss,
        "certificate_type": issue.certificate_type,
        "service": issue.service,
        "result": {"field": issue.field, "value": issue.value},
        "locality": issue.locality,
        "subject": dict(issue.subject),
        "issued_at": issue.issued_at.isoformat(),
    }


__all__ = ["CertificateIds", "Certificates", "NotACertificateError"]
