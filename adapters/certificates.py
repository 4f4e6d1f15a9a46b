"""E-certificates as compact JWS (RFC 7515, alg Ed25519 per RFC 9864, through joserfc):
issued from the ledger at read time, verified for anyone, with a status list per issuer.

A certificate is signed when it is read, with the key its office held at the decision's time
(adapters/certificate_keys.py): Ed25519 signatures are deterministic, so the same decision
always gives the same bytes, and no certificate can differ from the record. The ledger is the
truth for its status: a certificate is `valid`, `superseded` by an approved correction's
certificate, `revoked` by a void, or `invalid` (with the reason)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from adapters.certificate_keys import SigningKeys
from domain.kernel.certificates import (
    CERTIFICATE_TYPES,
    HEADER_TYPE,
    Issue,
    Record,
    parse_certificate_id,
    record_of,
)
from domain.kernel.service_request import ServiceRequest
from integrations.certificates import jose
from integrations.certificates.jose import ALG, NotACertificateError

# What GET /verify/{jti} leaves out: a certificate id is no secret (it is derived from the
# case's ids, and the status list names some), so an id alone shows no personal data; the
# holder of the signed certificate sees what it states through POST /verify.
PRIVATE = ("subject", "result")
MAX_ATTEMPTS = 20  # resubmissions of one service a case can hold (far more than happen)


class Certificates:
    """The ledger's certificates: signed on reading, verified against the record."""

    def __init__(self, ledger: Application[UUID], keys: SigningKeys) -> None:
        self.ledger, self.keys = ledger, keys

    def record(self, request_id: UUID) -> Record:
        events = self.ledger.repository.event_store.get(request_id)
        return record_of(e for e in events if isinstance(e, ServiceRequest.Event))

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
        for service in CERTIFICATE_TYPES:
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
            "certificate_type": CERTIFICATE_TYPES[issue.service],
            "revision": issue.revision,
            "issuer": issue.iss,
            **record.status(issue.revision),
            "claims": issue.claims(),
            "certificate": self.sign(issue),
            "verify": f"/verify/{issue.jti}",
        }

    def lookup(self, jti: str) -> dict[str, Any]:
        """What the ledger holds under a certificate id (GET /verify/{jti})."""
        found = self._issue(jti)
        if isinstance(found, str):
            return {"jti": jti, **_invalid(found)}
        record, issue = found
        stated = {k: v for k, v in _stated(issue).items() if k not in PRIVATE}
        return {"jti": jti, **stated, **record.status(issue.revision)}

    def _issue(self, jti: str) -> tuple[Record, Issue] | str:
        parsed = parse_certificate_id(jti)
        if parsed is None:
            return "unknown-id"
        request_id, revision = parsed
        record = self.record(request_id)
        if revision > len(record.issues):
            return "unknown-id"
        return record, record.issues[revision - 1]

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
        if (reason := jose.check(token, orjson.loads(row.public_jwk))) is not None:
            return reason
        if claims.get("iss") != row.issuer:
            return "wrong-issuer"
        return None

    def status_list(self, of_issuer: str | None) -> dict[str, Any]:
        """Every certificate no longer valid, of one issuer or all: the superseded (by which)
        and the revoked (when). Only corrections and voids make one, so the list is read from
        the ledger's log of those two events."""
        request_ids = dict.fromkeys(self._changed())
        rows: list[dict[str, Any]] = []
        for request_id in request_ids:
            record = self.record(request_id)
            for issue in record.issues:
                status = record.status(issue.revision)
                if status["status"] != "valid" and of_issuer in (None, issue.iss):
                    rows.append({"jti": issue.jti, "issuer": issue.iss, **status})
        return {"issuer": of_issuer, "certificates": rows}

    def _changed(self) -> Iterator[UUID]:
        topics = [get_topic(ServiceRequest.CorrectionApproved), get_topic(ServiceRequest.Revoked)]
        start, recorder = 0, self.ledger.recorder
        while page := recorder.select_notifications(
            start=start, limit=500, topics=topics, inclusive_of_start=False
        ):
            yield from (UUID(str(n.originator_id)) for n in page)
            start = page[-1].id


# why a certificate is invalid, in words a verification page can show (docs/api.md)
REASONS = {
    "unsupported-type": "Not an e-certificate of this ledger (alg Ed25519, typ nl-certificate+jwt)",
    "unknown-key": "Signed with a key the ledger does not publish",
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
        "certificate_type": CERTIFICATE_TYPES[issue.service],
        "service": issue.service,
        "result": {"field": issue.field, "value": issue.value},
        "locality": issue.locality,
        "subject": dict(issue.subject),
        "issued_at": issue.issued_at.isoformat(),
    }


__all__ = ["Certificates", "NotACertificateError"]
