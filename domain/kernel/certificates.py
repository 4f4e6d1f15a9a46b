"""E-certificates (电子证照): what a decided result's certificate states, derived from its
request's events, and its status (valid, superseded by a correction, revoked by a void).

A certificate is not stored: it is a pure function of the ledger. A request's approval is its
revision 1 and each approved correction one more; the certificate of a revision states the
result then decided and the few facts a verifier matches against the person in front of it
(the wing's `CertificateKind.subject`: births, the child's name and birth date), as the
office then held them. Its id (`jti`) is "<sealed request id>.<revision>": the
request id sealed by an adapter (adapters/certificates.py, a keyed permutation), so nobody can
compute the id of a case's certificate from the case's public inputs, while the ledger opens it
and answers from the request's own stream. Signing is an adapter's job too; this module has no
keys.

Claims (docs/api.md, E-certificates): `iss` the issuing office (province + authority),
`jti`, `iat` (the decision's time), `certificate_type`, `service`, `result` (field, value:
what the kind states of the decided result), `locality` (the issuing county), `subject` (the
wing's: births, the child's `name` if named and `birth_date`), and `supersedes` (the jti this
one replaces, from revision 2). No ID number, phone or address beyond the result certified
(births' household registration certifies the child's citizen ID; the ID card's certificate
states the card's validity only): a verifier checks the document against the person in front
of it, nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from domain.kernel.errors import DomainError
from domain.kernel.service_request import ServiceRequest

ISSUER_PREFIX = "urn:newborn-ledger:issuer:"
HEADER_TYPE = "nl-certificate+jwt"
SubjectOf = Callable[[Mapping[str, object]], dict[str, str]]
ResultShown = Callable[[str], str]


def as_decided(value: str) -> str:
    """The result certified as the office decided it (births: the child's citizen ID of the
    household registration, the result that registration certifies)."""
    return value


@dataclass(frozen=True)
class CertificateKind:
    """What a service's certificate is: its type and the subject a verifier matches (read from
    the payload dispatched to the office, minimal: a name and a date, never an ID number).
    Each wing names its services' kinds (`Wing.certificates`); a service without one issues no
    certificate (births' maternity benefits decide a payment, not a document shown elsewhere).
    `result`: the part of the decided result the certificate states (default: all of it);
    the ID card's states the card's validity, never the holder's citizen ID."""

    type: str
    subject: SubjectOf
    result: ResultShown = as_decided


CertificateKinds = Mapping[str, CertificateKind]  # service code → its certificate's kind
DECISIONS = (ServiceRequest.Approved, ServiceRequest.CorrectionApproved)
# the sealed request id (32 lowercase hex digits), a dot, the revision: ASCII digits only
# (str.isdigit() takes "²", which int() refuses)
JTI = re.compile(r"([0-9a-f]{32})\.([0-9]{1,6})", re.ASCII)
CST = timezone(timedelta(hours=8), "CST")  # dates are China's
Seal = Callable[[UUID], str]  # a request id → its sealed form (32 lowercase hex digits)


class CertificateNotFoundError(DomainError):
    code = "certificate-not-found"


def issuer(province: str, authority: str) -> str:
    """The issuing office's URI: `urn:newborn-ledger:issuer:<province>:<authority>`."""
    return f"{ISSUER_PREFIX}{province}:{authority}"


def issuer_parts(iss: str) -> tuple[str, str] | None:
    """(province, authority) of an issuer URI, or None for anything else."""
    if not iss.startswith(ISSUER_PREFIX):
        return None
    province, _, authority = iss[len(ISSUER_PREFIX) :].partition(":")
    if len(province) != 2 or not province.isdigit() or not authority:
        return None
    return province, authority


def certificate_id(sealed: str, revision: int) -> str:
    return f"{sealed}.{revision}"


def parse_certificate_id(jti: str) -> tuple[str, int] | None:
    """(sealed request id, revision) of a certificate id, or None when it is not one."""
    found = JTI.fullmatch(jti)
    if found is None or int(found[2]) < 1:
        return None
    return found[1], int(found[2])


@dataclass(frozen=True)
class Issue:
    """One revision's certificate as the ledger holds it."""

    jti: str
    request_id: UUID
    case_id: UUID
    revision: int
    service: str
    issued_at: datetime
    province: str
    authority: str
    locality: str
    field: str
    value: str
    subject: Mapping[str, str]
    certificate_type: str
    supersedes: str | None = None  # the previous revision's jti

    @property
    def iss(self) -> str:
        return issuer(self.province, self.authority)

    def claims(self) -> dict[str, Any]:
        """The signed claims: exactly these, in this order (docs/api.md)."""
        claims: dict[str, Any] = {
            "iss": self.iss,
            "jti": self.jti,
            "iat": int(self.issued_at.timestamp()),
            "certificate_type": self.certificate_type,
            "service": self.service,
            "result": {"field": self.field, "value": self.value},
            "locality": self.locality,
            "subject": dict(self.subject),
        }
        if self.supersedes is not None:
            claims["supersedes"] = self.supersedes
        return claims


@dataclass(frozen=True)
class Record:
    """Every certificate one request issued, its revocation (the void's, if any) and a
    revocation requested but not yet decided by the office."""

    issues: tuple[Issue, ...]
    revoked_at: datetime | None
    revocation_requested_at: datetime | None = None

    def status(self, revision: int) -> dict[str, Any]:
        """`valid`, `superseded` (by the next revision's jti), `revocation-pending` (a void
        asked the office to revoke it, since when) or `revoked` (and when): a revocation voids
        every revision; a later revision supersedes an earlier one, which stays superseded
        while the revocation is pending."""
        issue = self.issues[revision - 1]
        if self.revoked_at is not None:
            return {"status": "revoked", "revoked_at": self.revoked_at.isoformat()}
        if self.revocation_requested_at is not None and revision == len(self.issues):
            requested = self.revocation_requested_at.isoformat()
            return {"status": "revocation-pending", "revocation_requested_at": requested}
        if revision < len(self.issues):
            later = self.issues[revision]
            return {
                "status": "superseded",
                "superseded_by": later.jti,
                "superseded_at": later.issued_at.isoformat(),
            }
        return {"status": "valid", "issued_at": issue.issued_at.isoformat()}


def record_of(
    events: Iterable[ServiceRequest.Event], seal: Seal, kinds: CertificateKinds
) -> Record:
    """Replay a request's events, noting each decision's state: its certificates (their ids
    made with `seal`; a service without a kind in `kinds` issues none)."""
    request: Any = None
    issues: list[Issue] = []
    revoked_at = requested_at = None
    for domain_event in events:
        request = domain_event.mutate(request)
        if isinstance(domain_event, DECISIONS) and (kind := kinds.get(request.service)):
            issues.append(_issue(request, kind, len(issues) + 1, domain_event.timestamp, seal))
        elif isinstance(domain_event, ServiceRequest.RevocationRequested) and issues:
            requested_at = domain_event.timestamp
        elif isinstance(domain_event, ServiceRequest.Revoked) and issues:
            revoked_at = domain_event.timestamp
    return Record(tuple(issues), revoked_at, requested_at)


def _issue(
    request: ServiceRequest, kind: CertificateKind, revision: int, at: datetime, seal: Seal
) -> Issue:
    assert request.result is not None  # a decision carries its result
    locality = request.handling_locality
    sealed = seal(request.id)
    return Issue(
        jti=certificate_id(sealed, revision),
        request_id=request.id,
        case_id=request.case_id,
        revision=revision,
        service=request.service,
        issued_at=at,
        province=locality[:2],
        authority=request.authority,
        locality=locality,
        field=request.result.field,
        value=kind.result(request.result.value),
        subject=kind.subject(request.payload),
        certificate_type=kind.type,
        supersedes=certificate_id(sealed, revision - 1) if revision > 1 else None,
    )


def china_date(moment_text: str) -> str:
    """The date in China of an ISO 8601 time (a time without offset is taken as written): a
    birth date is China's whatever offset the hospital recorded the time in."""
    try:
        moment = datetime.fromisoformat(moment_text)
    except ValueError:
        return moment_text[:10]
    if moment.tzinfo is None:
        return moment.date().isoformat()
    return moment.astimezone(CST).date().isoformat()
