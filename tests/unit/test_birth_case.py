"""BirthCase: each command emits its event once; a retry emits nothing; closed cases refuse."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.births.birth_case import BirthCase, CaseState
from domain.births.family_application import FamilyApplication
from domain.kernel.errors import CaseClosedError, RatingNotAllowedError
from tests.conftest import HOSPITAL, make_facts

APPLICATION = FamilyApplication("张小明", "mother", "430602", None, consent=True)


def new_case() -> BirthCase:
    case = BirthCase(HOSPITAL, "MR-1", "TRACKCODE123", "msg-1", make_facts("MR-1"))
    case.collect_events()
    return case


def names(case: BirthCase) -> list[str]:
    return [type(e).__name__ for e in case.collect_events()]


def test_id_is_deterministic_per_facility_and_record() -> None:
    assert BirthCase.create_id(HOSPITAL, "MR-1") == BirthCase.create_id(HOSPITAL, "MR-1")
    assert BirthCase.create_id(HOSPITAL, "MR-1") != BirthCase.create_id(HOSPITAL, "MR-2")


def test_notified_records_the_facts() -> None:
    facts = make_facts("MR-1", sex="female")
    case = BirthCase(HOSPITAL, "MR-1", "TRACKCODE123", "msg-1", facts)
    events = case.collect_events()
    assert [type(e).__name__ for e in events] == ["Notified"]
    assert case.state is CaseState.NOTIFIED
    assert str(case.state) == "notified"
    assert case.facts == facts


def test_correction_records_what_changed_and_a_retry_records_nothing() -> None:
    case = new_case()
    corrected = make_facts("MR-1", sex="male")
    case.correct("msg-2", corrected, ["sex"])
    assert names(case) == ["NotificationCorrected"]
    case.correct("msg-2", corrected, ["sex"])
    assert names(case) == []


def test_correction_without_changes_records_nothing() -> None:
    case = new_case()
    case.correct("msg-3", case.facts, [])
    assert names(case) == []


def test_void_then_void_again() -> None:
    case = new_case()
    case.void("msg-9", "entered-in-error")
    assert names(case) == ["Voided"]
    case.void("msg-9", "entered-in-error")
    assert names(case) == []
    with pytest.raises(CaseClosedError):
        case.apply(APPLICATION)


def test_family_application_once() -> None:
    case = new_case()
    case.apply(APPLICATION)
    assert names(case) == ["FamilyApplied"]
    assert case.state == "applied"
    case.apply(replace(APPLICATION))
    assert names(case) == []


def test_plan_once() -> None:
    case = new_case()
    case.plan(["birth-certificate"], "2026.1", "2026.1")
    assert names(case) == ["ServicesPlanned"]
    case.plan(["birth-certificate"], "2026.1", "2026.1")
    assert names(case) == []


def test_complete_and_rate_once() -> None:
    case = new_case()
    with pytest.raises(RatingNotAllowedError, match="completed"):
        case.rate(5, "")
    case.complete()
    case.complete()
    assert names(case) == ["Completed"]
    with pytest.raises(RatingNotAllowedError, match="1 to 5"):
        case.rate(6, "")
    case.rate(5, "快")
    assert names(case) == ["Rated"]
    with pytest.raises(RatingNotAllowedError, match="already"):
        case.rate(4, "")
