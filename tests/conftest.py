"""Shared fixtures: settings parametrised over the stores, a built container, actors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.bootstrap import Container, build
from adapters.facade import carry_out
from adapters.settings import Settings
from domain.births.facts import BirthFacts, Parent
from domain.kernel.commands import (
    Approve,
    ApproveCorrection,
    OfficeCommand,
    Receive,
    Reject,
    RejectCorrection,
    RequestSupplement,
    Resubmit,
    Revoke,
    Supplement,
)
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest
from domain.ledger import CaseLedger

HOSPITAL = "12430600MA4L0BHT5Q"  # synthetic, GB 32100-valid
OTHER_HOSPITAL = "11500241009138639G"
CST = timezone(timedelta(hours=8))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The same scenario on each real store: SQLite files and PostgreSQL."""
    if request.param == "postgres":
        from tests.pg import postgres_settings

        pg_settings: Settings = postgres_settings()
        return pg_settings
    return Settings(persistence="sqlite", sqlite_dir=str(tmp_path / "var"))


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    built = build(settings)
    yield built
    built.close()


@pytest.fixture
def memory_container() -> Iterator[Container]:
    built = build(Settings(persistence="memory"))
    yield built
    built.close()


def make_facts(record_ref: str = "MR-0001", **changes: Any) -> BirthFacts:
    """A synthetic newborn: born in Yueyang, mother's hukou in Wuhan Jiang'an."""
    mother = Parent(
        citizen_id=make_citizen_id("420102", date(1994, 3, 8), 124),
        name="王芳",
        phone="13800000000",
        hukou_division="420102",
        residence_division="430602",
    )
    facts = BirthFacts(
        facility_uscc=HOSPITAL,
        record_ref=record_ref,
        born_at=datetime(2026, 11, 20, 8, 30, tzinfo=CST),
        sex="female",
        birth_division="430602",
        mother=mother,
        household_choice="mother",
        birth_weight_g=3350,
        gestation_weeks=39,
        birth_doses=("hepb-1", "bcg"),
    )
    return replace(facts, **changes)


CHILD_ID = make_citizen_id("420102", make_facts().born_at.date(), 28)
RESULTS: dict[str, dict[str, str]] = {  # an approval's result for each service
    "birth-certificate": {"certificate_number": "X430602001"},
    "vaccination": {"vaccination_record_number": "VR-1"},
    "household-registration": {"citizen_id": CHILD_ID},
    "medical-insurance": {"enrolment_number": "MI-1"},
    "social-security-card": {"card_number": "SSC-1"},
    "maternity-benefits": {"decision_number": "MB-1"},
}


def office_command(
    request_id: UUID,
    action: str,
    officer: str,
    *,
    receipt_number: str = "",
    items: tuple[str, ...] = (),
    result: dict[str, object] | None = None,
    reason: str = "",
    basis: str = "Administrative Licensing Law Art. 38",
) -> OfficeCommand:
    """The office command for an HTTP action name (receive, request-supplement, supplement,
    approve, reject), from those of the fields it takes: the tests' shorthand."""
    if action == "receive":
        return Receive(request_id, officer, receipt_number)
    if action == "request-supplement":
        return RequestSupplement(request_id, officer, items)
    if action == "supplement":
        return Supplement(request_id, officer, items)
    if action == "approve":
        return Approve(request_id, officer, result or {})
    if action == "resubmit":
        return Resubmit(request_id, officer)
    if action == "approve-correction":
        return ApproveCorrection(request_id, officer, result or {})
    if action == "reject-correction":
        return RejectCorrection(request_id, officer, reason)
    if action == "revoke":
        return Revoke(request_id, officer)
    assert action == "reject", action
    return Reject(request_id, officer, reason, basis)


def office_step(
    ledger: CaseLedger, request_id: UUID, action: str, officer: str, **fields: Any
) -> ServiceRequest:
    """One office step through the ledger's method for it."""
    return carry_out(ledger, office_command(request_id, action, officer, **fields))
