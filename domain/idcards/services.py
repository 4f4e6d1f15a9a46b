"""The window clerk's command and the application service that opens an ID card case.

Every problem of an application is found at once (the API answers them in one 422): each
is a DomainError naming its field."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import Application

from domain.idcards.case import REASONS, IdCardCase
from domain.kernel.applicants import DOCUMENTS, IdentityCheck
from domain.kernel.errors import DomainError, InvalidApplicationError, InvalidIdentifierError
from domain.kernel.identifiers import citizen_id, county_code

PHONE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)  # a mainland mobile number
MAX_NAME = 64


@dataclass(frozen=True)
class ApplyForIdCard:
    """What the window clerk records for an applicant standing at the window.

    `applying_division` is the clerk's county (never the applicant's say); `checked_by` the
    clerk's actor id, `authority` the clerk's office's, `document` what the clerk checked the
    applicant's identity with, in person."""

    name: str
    citizen_id: str
    phone: str | None
    hukou_division: str
    applying_division: str
    reason: str
    temporary: bool
    document: str
    checked_by: str
    authority: str


def application_problems(
    cmd: ApplyForIdCard, skip: frozenset[str] = frozenset()
) -> list[DomainError]:
    """Every rule the application breaks, in the form's order, leaving out the fields in
    `skip` (already refused for their form: their values are placeholders)."""
    checks: dict[str, Callable[[], object]] = {
        "name": lambda: _name(cmd.name),
        "citizen_id": lambda: citizen_id(cmd.citizen_id, field="citizen_id"),
        "phone": lambda: _phone(cmd.phone),
        "hukou_division": lambda: county_code(cmd.hukou_division, field="hukou_division"),
        "reason": lambda: _reason(cmd.reason),
        "identity_document": lambda: _document(cmd.document),
    }
    found: list[DomainError] = []
    for name, check in checks.items():
        if name in skip:
            continue
        try:
            check()
        except (InvalidApplicationError, InvalidIdentifierError) as error:
            found.append(error)
    return found


def apply_for_id_card(ledger: Application[UUID], cmd: ApplyForIdCard, tracking_code: str) -> UUID:
    """Open the case on the ledger (the kernel plans and routes it from there), or raise
    InvalidApplicationError listing every problem (`errors`: the DomainErrors)."""
    if problems := application_problems(cmd):
        raise InvalidApplicationError(
            "; ".join(p.detail for p in problems),
            field=problems[0].context.get("field"),
            problems=problems,
        )
    case = IdCardCase(
        name=cmd.name.strip(),
        citizen_id=citizen_id(cmd.citizen_id, field="citizen_id"),
        phone=(cmd.phone or "").strip() or None,
        hukou_division=county_code(cmd.hukou_division, field="hukou_division"),
        applying_division=county_code(cmd.applying_division, field="applying_division"),
        reason=cmd.reason,
        temporary=cmd.temporary,
        tracking_code=tracking_code,
        identity=IdentityCheck.at_window(
            cmd.checked_by, cmd.applying_division, cmd.authority, cmd.document
        ),
    )
    ledger.save(case)
    return case.id


def _name(value: str) -> None:
    name = value.strip()
    if not name or len(name) > MAX_NAME or any(not c.isprintable() for c in name):
        raise InvalidApplicationError(
            f"The applicant's name is 1 to {MAX_NAME} printable characters", field="name"
        )


def _phone(value: str | None) -> None:
    if value is not None and value.strip() and not PHONE.match(value.strip()):
        raise InvalidApplicationError(
            "A phone is an 11-digit mainland mobile number starting 13 to 19", field="phone"
        )


def _reason(value: str) -> None:
    if value not in REASONS:
        raise InvalidApplicationError(
            f"The reason is one of {', '.join(REASONS)}", field="reason", allowed=list(REASONS)
        )


def _document(value: str) -> None:
    if value not in DOCUMENTS:
        raise InvalidApplicationError(
            f"The identity document checked is one of {', '.join(DOCUMENTS)}",
            field="identity_document",
            allowed=list(DOCUMENTS),
        )
