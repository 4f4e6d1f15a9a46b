"""The applicants' command and the application service that opens a marriage case.

Every rule the form breaks is named at once (each error in `errors`, with its field as a
JSON pointer), as the family application does."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from domain.kernel.applicants import IdentityCheck
from domain.kernel.errors import DomainError, InvalidApplicationError, InvalidIdentifierError
from domain.kernel.identifiers import citizen_id, county_code
from domain.marriage.case import (
    PARTY_A_HUKOU,
    PARTY_B_HUKOU,
    REGISTRATION_PLACES,
    RESIDENCE_PERMIT,
    MarriageCase,
    Party,
)

MAX_NAME = 50
PERMIT_HOLDERS = ("a", "b")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$", re.ASCII)


@dataclass(frozen=True)
class PartyDetails:
    """One applicant as the form gives them (unchecked)."""

    name: str
    citizen_id: str
    hukou_division: str
    residence_division: str
    phone: str | None = None


@dataclass(frozen=True)
class RegisterMarriage:
    """The couple's application: both parties, where they register, and, at the residence
    permit's place, whose permit it is ("a" or "b")."""

    party_a: PartyDetails
    party_b: PartyDetails
    registration_place: str
    permit_holder: str | None = None


@dataclass(frozen=True)
class CheckedMarriage:
    party_a: Party
    party_b: Party
    registration_place: str
    registration_division: str


def register_marriage(
    ledger: Application[UUID], cmd: RegisterMarriage, identity: IdentityCheck, tracking_code: str
) -> MarriageCase:
    """Open the couple's case on the ledger (the kernel plans and routes it from there), with
    how their identity was checked (online: checked in person at the registration office;
    or by a window clerk) and the tracking code handed to them (the ledger's injectable
    `tracking_codes`, as the other wings')."""
    checked = check_marriage(cmd)
    case = MarriageCase(
        checked.party_a,
        checked.party_b,
        checked.registration_place,
        checked.registration_division,
        tracking_code,
        identity,
    )
    ledger.save(case)
    return case


def check_marriage(cmd: RegisterMarriage) -> CheckedMarriage:
    """The checked application, or one error naming every rule broken."""
    found: list[DomainError] = []
    parties = [_party(p, who, found) for p, who in ((cmd.party_a, "a"), (cmd.party_b, "b"))]
    _attempt(lambda: _choice(cmd), found)
    if found:
        raise all_at_once(found)
    a, b = parties
    assert a is not None  # every field checked
    assert b is not None
    place = _attempt(lambda: _place(cmd, a, b), found)
    if found:
        raise all_at_once(found)
    return CheckedMarriage(a, b, cmd.registration_place, place)


def marriage_problems(cmd: RegisterMarriage, skip: frozenset[str]) -> list[DomainError]:
    """Every rule the application breaks, leaving out the fields in `skip` (refused for their
    form already: their values here are placeholders)."""
    found: list[DomainError] = []
    parties = [_party(p, who, found, skip) for p, who in ((cmd.party_a, "a"), (cmd.party_b, "b"))]
    a, b = parties
    if {"registration_place", "permit_holder"} & skip:
        return found
    chosen = len(found)
    _attempt(lambda: _choice(cmd), found)
    if a is not None and b is not None and len(found) == chosen:
        _attempt(lambda: _place(cmd, a, b), found)
    return found


def _party(
    details: PartyDetails, who: str, found: list[DomainError], skip: frozenset[str] = frozenset()
) -> Party | None:
    prefix = f"party_{who}"
    checks: dict[str, Callable[[], Any]] = {
        "name": lambda: _name(details.name, f"{prefix}.name"),
        "citizen_id": lambda: citizen_id(details.citizen_id, field=f"{prefix}.citizen_id"),
        "hukou_division": lambda: county_code(
            details.hukou_division, field=f"{prefix}.hukou_division"
        ),
        "residence_division": lambda: county_code(
            details.residence_division, field=f"{prefix}.residence_division"
        ),
        "phone": lambda: _phone(details.phone, f"{prefix}.phone"),
    }
    before = len(found)
    values: dict[str, Any] = {
        name: None if f"{prefix}.{name}" in skip or prefix in skip else _attempt(check, found)
        for name, check in checks.items()
    }
    if len(found) > before or any(f"{prefix}.{n}" in skip for n in checks) or prefix in skip:
        return None
    return Party(
        values["name"],
        values["citizen_id"],
        values["hukou_division"],
        values["residence_division"],
        values["phone"],
    )


def _name(value: str, field: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidApplicationError(
            f"A name is 1 to {MAX_NAME} printable characters", field=field
        )
    return name


def _phone(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    if not _PHONE.match(value.strip()):
        raise InvalidApplicationError(
            "A phone number is 7 to 20 digits (a leading + and spaces or '-' allowed)",
            field=field,
        )
    return value.strip()


def _choice(cmd: RegisterMarriage) -> None:
    """The place chosen is one of the three; at the residence permit's, whose permit (and
    nowhere a permit_holder other than "a" or "b")."""
    if cmd.permit_holder is not None and cmd.permit_holder not in PERMIT_HOLDERS:
        raise InvalidApplicationError(
            "permit_holder says whose residence permit it is: 'a' or 'b'",
            field="permit_holder",
        )
    if cmd.registration_place not in REGISTRATION_PLACES:
        raise InvalidApplicationError(
            f"registration_place is one of {', '.join(REGISTRATION_PLACES)}",
            field="registration_place",
        )
    if cmd.registration_place == RESIDENCE_PERMIT and cmd.permit_holder not in PERMIT_HOLDERS:
        raise InvalidApplicationError(
            "At the residence permit's place, permit_holder says whose permit it is: 'a' or 'b'",
            field="permit_holder",
        )


def _place(cmd: RegisterMarriage, a: Party, b: Party) -> str:
    """The registering county: a party's hukou county, or the county that issued one party's
    residence permit when neither party's hukou is there (seed 002, the 2023 pilot)."""
    if a.citizen_id == b.citizen_id:
        raise InvalidApplicationError(
            "The two parties have the same citizen ID", field="party_b.citizen_id"
        )
    if cmd.registration_place == PARTY_A_HUKOU:
        return a.hukou_division
    if cmd.registration_place == PARTY_B_HUKOU:
        return b.hukou_division
    holder = a if cmd.permit_holder == "a" else b
    place = holder.residence_division
    if place in (a.hukou_division, b.hukou_division):
        raise InvalidApplicationError(
            f"A party's hukou is in {place}: register there as a hukou place "
            "(the residence permit's place is for couples with no hukou there)",
            field="registration_place",
            rule="residence-permit-place",
        )
    return place


def _attempt(check: Callable[[], Any], found: list[DomainError]) -> Any:
    try:
        return check()
    except (InvalidApplicationError, InvalidIdentifierError) as error:
        found.append(error)
        return None


def problem_item(error: DomainError) -> dict[str, Any]:
    """One broken rule as an item of a problem's `errors` (RFC 9457): a JSON pointer to the
    field, the error's code and detail, and what else it names."""
    where = str(error.context.get("field", ""))
    item = {"pointer": "/" + where.replace(".", "/"), "code": error.code, "detail": error.detail}
    return item | {k: v for k, v in error.context.items() if k != "errors"}


def all_at_once(found: list[DomainError]) -> DomainError:
    """One error for all: a single one as itself, several as an InvalidApplicationError."""
    items = [problem_item(error) for error in found]
    if len(found) == 1:
        found[0].context["errors"] = items
        return found[0]
    return InvalidApplicationError(
        f"{len(found)} problems in the application: " + "; ".join(e.detail for e in found),
        field=found[0].context.get("field"),
        errors=items,
    )
