"""The marriage wing's reference data, routing, form checks and certificate numbers."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.births.catalog import load_catalog as load_births_catalog
from domain.kernel.applicants import IdentityCheck
from domain.kernel.errors import (
    InvalidApplicationError,
    InvalidIdentifierError,
    InvalidResultError,
    ReferenceDataError,
)
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.national_list import NationalList
from domain.kernel.results import marriage_certificate_number, validate_result
from domain.kernel.routing import PlannedService, plan_services
from domain.marriage.case import MarriageCase, Party
from domain.marriage.catalog import load_catalog, load_materials
from domain.marriage.planning import MarriageInputs, MarriagePlanning
from domain.marriage.services import PartyDetails, RegisterMarriage, check_marriage
from domain.wings import kind_of_service, load_alliance, load_national_list, wings

HAIYAN, XUANWU, SHUSHAN, NANMING, PINGHU = "330424", "320102", "340104", "520102", "330482"
A = PartyDetails("张伟", make_citizen_id(XUANWU, date(1995, 4, 2), 11), XUANWU, HAIYAN)
B = PartyDetails(
    "王芳", make_citizen_id(SHUSHAN, date(1996, 9, 1), 22), SHUSHAN, HAIYAN, "13900000000"
)


def routes(registration: str, hukou_a: str, hukou_b: str) -> dict[str, PlannedService]:
    places = MarriagePlanning().routing(MarriageInputs(registration, hukou_a, hukou_b))
    plan = plan_services(places, load_catalog(), load_alliance(), load_national_list())
    return {s.service: s for s in plan.services}


def shape(s: PlannedService) -> tuple[str, str, str | None, bool]:
    return s.handling_locality, s.receiving_locality, s.mode, s.manual_routing


def test_the_wing_is_carried_and_its_reference_data_loads() -> None:
    assert "marriage" in [w.kind for w in wings()]
    catalog = load_catalog()
    assert catalog.codes == (
        "marital-status-check-a",
        "marital-status-check-b",
        "marriage-registration",
    )
    assert {s.authority for s in catalog} == {"civil-affairs"}
    assert kind_of_service("marriage-registration") == "marriage"
    registration = catalog["marriage-registration"]
    assert registration.inputs == ("marital_status_record_a", "marital_status_record_b")
    assert "婚姻登记条例" in registration.basis
    assert "project limit" in catalog["marital-status-check-a"].basis
    # a hukou office sees its own party only
    assert not [f for f in catalog["marital-status-check-a"].visible_fields if "party_b" in f]
    assert not [f for f in catalog["marital-status-check-b"].visible_fields if "party_a" in f]
    materials = load_materials()
    tally = materials.tally("marriage-registration", HAIYAN, HAIYAN)
    assert (tally.certificate, tally.family) == (2, 7)  # the checks come by sharing


def test_haiyan_residence_permit_place_for_jiangsu_and_anhui_hukou() -> None:
    planned = routes(HAIYAN, XUANWU, SHUSHAN)
    assert shape(planned["marital-status-check-a"]) == (XUANWU, HAIYAN, "off-site", False)
    assert shape(planned["marital-status-check-b"]) == (SHUSHAN, HAIYAN, "off-site", False)
    assert "national 跨省通办 list" in planned["marital-status-check-a"].route_note
    assert shape(planned["marriage-registration"]) == (HAIYAN, HAIYAN, "online", False)
    assert planned["marriage-registration"].depends_on == (
        "marital-status-check-a",
        "marital-status-check-b",
    )


def test_a_hukou_outside_the_pilot_waits_at_the_routing_desk() -> None:
    planned = routes(HAIYAN, XUANWU, NANMING)  # Guizhou (52) is not a pilot province
    assert shape(planned["marital-status-check-a"]) == (XUANWU, HAIYAN, "off-site", False)
    assert shape(planned["marital-status-check-b"]) == (NANMING, HAIYAN, None, True)
    assert "pilot provinces" in planned["marital-status-check-b"].route_note


def test_registration_at_a_hukou_place() -> None:
    planned = routes(XUANWU, XUANWU, PINGHU)
    assert shape(planned["marital-status-check-a"]) == (XUANWU, XUANWU, "joint", False)
    assert shape(planned["marital-status-check-b"]) == (PINGHU, XUANWU, "off-site", False)


def list_with(provinces: Any) -> dict[str, Any]:
    return {
        "version": "t",
        "source": "test",
        "services": [{"service": "household-registration", "item": "x", "mode": "off-site",
                      "basis": "b", "provinces": provinces}],
        "routing_desk": {"time_limit_days": 2, "basis": "b"},
    }  # fmt: skip


@pytest.mark.parametrize("provinces", [[], ["3"], ["99"], ["32", "32"], "32", ["三二"]])
def test_a_list_entry_names_real_provinces_once(provinces: Any) -> None:
    with pytest.raises(ReferenceDataError, match="provinces"):
        NationalList.from_dict(list_with(provinces), load_births_catalog())


def test_a_restricted_entry_covers_only_its_provinces() -> None:
    listed = NationalList.from_dict(list_with(["32", "33"]), load_births_catalog()).entries
    entry = listed["household-registration"]
    assert entry.covers(HAIYAN, XUANWU)
    assert entry.covers(XUANWU, HAIYAN)
    assert not entry.covers(HAIYAN, NANMING)
    assert not entry.covers(NANMING, XUANWU)


def test_the_certificate_number() -> None:
    assert marriage_certificate_number(" j330424-2026-000123 ", HAIYAN) == "J330424-2026-000123"
    for bad, rule in [
        ("J330424-2026-12345", "J, the registering county"),
        ("330424-2026-000123", "J, the registering county"),
        ("J320102-2026-000123", "not the registering county 330424"),
        ("J330424-1949-000123", "before 1950"),
        ("J\uff13\uff13\uff10\uff14\uff12\uff14-2026-000123", "J, the registering county"),
    ]:
        with pytest.raises(InvalidIdentifierError, match=rule):
            marriage_certificate_number(bad, HAIYAN)
    service = load_catalog()["marriage-registration"]
    with pytest.raises(InvalidResultError, match="结婚证字号"):
        validate_result(service, {"marriage_certificate_number": "M-1"}, HAIYAN, None)


def test_the_application_is_checked_all_at_once() -> None:
    checked = check_marriage(RegisterMarriage(A, B, "residence-permit", "b"))
    assert checked.registration_division == HAIYAN
    bad_a = PartyDetails("", "110101199003071234", "3204", HAIYAN, "abc")
    with pytest.raises(InvalidApplicationError) as raised:
        check_marriage(RegisterMarriage(bad_a, B, "residence-permit", "a"))
    pointers = [item["pointer"] for item in raised.value.context["errors"]]
    assert pointers == [
        "/party_a/name",
        "/party_a/citizen_id",
        "/party_a/hukou_division",
        "/party_a/phone",
    ]


@pytest.mark.parametrize(
    ("place", "holder", "field"),
    [
        ("abroad", None, "registration_place"),
        ("residence-permit", None, "permit_holder"),
        ("residence-permit", "c", "permit_holder"),
    ],
)
def test_the_place_is_one_of_three(place: str, holder: str | None, field: str) -> None:
    with pytest.raises(InvalidApplicationError) as raised:
        check_marriage(RegisterMarriage(A, B, place, holder))
    assert raised.value.context["field"] == field


def test_the_permit_place_is_for_couples_with_no_hukou_there() -> None:
    b_here = PartyDetails(B.name, make_citizen_id(HAIYAN, date(1996, 9, 1), 22), HAIYAN, HAIYAN)
    with pytest.raises(InvalidApplicationError, match="register there") as raised:
        check_marriage(RegisterMarriage(A, b_here, "residence-permit", "a"))
    assert raised.value.context["rule"] == "residence-permit-place"
    assert (
        check_marriage(RegisterMarriage(A, b_here, "party-b-hukou")).registration_division == HAIYAN
    )


def test_the_case_discloses_each_field_and_knows_its_applicants() -> None:
    a = Party(A.name, A.citizen_id, A.hukou_division, A.residence_division)
    b = Party(B.name, B.citizen_id, B.hukou_division, B.residence_division, B.phone)
    case = MarriageCase(a, b, "residence-permit", HAIYAN, "ABCDEFGHJKLM", IdentityCheck.online())
    assert case.disclosed("party_a.citizen_id") == A.citizen_id
    assert case.disclosed("party_b.phone") == "13900000000"
    assert case.disclosed("party_a.phone") is None
    assert case.disclosed("registration_division") == HAIYAN
    assert case.disclosed("identity_check.method") == "online"
    assert case.disclosed("party_a.__class__") is None
    assert case.holds_verifier(A.citizen_id[-6:])
    assert case.holds_verifier("13900000000")
    assert not case.holds_verifier("000000")


def test_a_hukou_place_registration_uses_the_nationwide_entries() -> None:
    """Review finding 7: the pilot's provinces bind only at the residence permit's place."""
    hukou = MarriagePlanning().routing(MarriageInputs(XUANWU, XUANWU, NANMING, "party-a-hukou"))
    plan = plan_services(hukou, load_catalog(), load_alliance(), load_national_list())
    check_b = plan.service("marital-status-check-b")
    assert check_b is not None
    assert shape(check_b) == (NANMING, XUANWU, "off-site", False)
    permit = MarriagePlanning().routing(MarriageInputs(HAIYAN, XUANWU, NANMING, "residence-permit"))
    plan = plan_services(permit, load_catalog(), load_alliance(), load_national_list())
    check_b = plan.service("marital-status-check-b")
    assert check_b is not None
    assert shape(check_b) == (NANMING, HAIYAN, None, True)


def test_a_conditional_entry_is_listed_once_per_condition() -> None:
    entry = {"service": "household-registration", "item": "x", "mode": "off-site", "basis": "b"}
    data = list_with(["32"]) | {"services": [entry, entry | {"when": "c"}]}
    national = NationalList.from_dict(data, load_births_catalog())
    assert national.listed("household-registration") == national.entries["household-registration"]
    assert national.listed("household-registration", frozenset({"c"})).when == "c"  # type: ignore[union-attr]
    twice = list_with(["32"]) | {"services": [entry | {"when": "c"}, entry | {"when": "c"}]}
    with pytest.raises(ReferenceDataError, match="listed twice"):
        NationalList.from_dict(twice, load_births_catalog())
