"""The materials model: the shipped lists, their load-time checks against the catalog, and
one request's materials as its office and family see them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from domain.births.catalog import APPLICATION_FIELDS, load_catalog, load_materials
from domain.kernel.catalog import read_reference
from domain.kernel.errors import ReferenceDataError
from domain.kernel.materials import MaterialsCatalog, case_materials, request_materials


def materials_data() -> dict[str, Any]:
    data = read_reference("domain.births", "materials.json")
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def build(data: dict[str, Any]) -> MaterialsCatalog:
    return MaterialsCatalog.from_dict(data, load_catalog(), frozenset(APPLICATION_FIELDS))


def entry(data: dict[str, Any], service: str, code: str) -> dict[str, Any]:
    listed = next(s for s in data["services"] if s["service"] == service)
    found = next(m for m in listed["materials"] if m["code"] == code)
    assert isinstance(found, dict)
    return found


def test_every_service_lists_its_materials_with_a_source() -> None:
    materials = load_materials()
    assert [s.service for s in materials.services] == [
        s["service"] for s in materials_data()["services"]
    ]
    assert {s.service for s in materials.services} == set(load_catalog().codes)
    for listed in materials.services:
        assert listed.source.startswith("Domain reference §"), listed.service
        assert listed.materials


def test_the_bundle_counts_as_the_model_says() -> None:
    """A hand count of materials.json: the same-province bundle of six services requires 27
    materials (29 across provinces: the residence permit and the commitment letter), 15 of
    them satisfied by sharing (7 by an earlier result's e-certificate)."""
    materials = load_materials()
    same = [materials.tally(s, "430602", "430602") for s in load_catalog().codes]
    across = [materials.tally(s, "430602", "420102") for s in load_catalog().codes]
    assert sum(t.required for t in same) == 27
    assert sum(t.required for t in across) == 29
    assert sum(t.shared + t.certificate for t in same) == 15
    assert sum(t.certificate for t in same) == 7
    assert sum(t.family for t in same) == 12
    assert sum(t.in_application for t in same) == 4
    assert materials.tally("not-a-service", "43", "43").required == 0


@pytest.mark.parametrize(
    ("service", "code", "change", "problem"),
    [
        ("vaccination", "birth-doses", {"from": "mother.citizen_id"}, "not shown to the service"),
        ("vaccination", "birth-doses", {"satisfied_by": "magic"}, "unknown satisfied_by"),
        ("vaccination", "child-identity", {"from": "passport"}, "unknown service"),
        (
            "social-security-card",
            "enrolment",
            {"from": "maternity-benefits"},
            "result of 'maternity-benefits' is not shown",
        ),
        ("vaccination", "residence", {"field": "consent"}, "unknown application field"),
        ("vaccination", "residence", {"field": "household"}, "not shown to the service"),
        ("vaccination", "residence", {"from": "telepathy"}, "'application' or 'document'"),
        ("medical-insurance", "bank-account", {"field": "household"}, "'field' names"),
        ("vaccination", "birth-doses", {"field": "household"}, "only for a family's"),
        ("household-registration", "residence-permit", {"when": "always"}, "unknown when"),
        ("vaccination", "guardian", {"note": " "}, "'note' must be"),
    ],
)
def test_a_broken_material_names_its_service_and_code(
    service: str, code: str, change: dict[str, Any], problem: str
) -> None:
    data = materials_data()
    entry(data, service, code).update(change)
    with pytest.raises(ReferenceDataError, match=problem) as raised:
        build(data)
    assert f"service '{service}': material '{code}'" in str(raised.value)


def test_a_list_missing_twice_or_unknown_is_refused() -> None:
    data = materials_data()
    data["services"] = data["services"][1:]
    with pytest.raises(ReferenceDataError, match="'birth-certificate' has no list"):
        build(data)
    data = materials_data()
    data["services"].append(copy.deepcopy(data["services"][0]))
    with pytest.raises(ReferenceDataError, match="listed twice"):
        build(data)
    data = materials_data()
    data["services"][0]["service"] = "naming"
    with pytest.raises(ReferenceDataError, match="not a service of the catalog"):
        build(data)
    data = materials_data()
    listed = data["services"][0]["materials"]
    listed.append(copy.deepcopy(listed[0]))
    with pytest.raises(ReferenceDataError, match="duplicate material code"):
        build(data)


def test_a_request_shows_what_sharing_satisfied_and_what_the_family_supplied() -> None:
    request = {
        "service": "household-registration",
        "receiving_locality": "430602",
        "handling_locality": "420102",
    }
    dispatched = {
        "certificate_number": "X430602001",
        "mother.citizen_id": "secret",
        "household": "mother",
        "father.citizen_id": None,
    }
    answers = [{"items": ["户口簿", "结婚证"], "evidence": [{"id": "doc:1", "sha256": "ab"}]}]
    notices = [["户口簿", "结婚证", "亲子鉴定意见书"]]
    shown = request_materials(
        load_catalog(), load_materials(), request, dispatched, answers, notices
    )
    by_code = {m["code"]: m for m in shown["required"]}
    assert by_code["birth-certificate"]["from"] == {
        "service": "birth-certificate",
        "result": "certificate_number",
    }
    assert by_code["birth-certificate"]["satisfied"] is True
    assert (by_code["mother-id"]["satisfied"], by_code["father-id"]["satisfied"]) == (True, False)
    assert by_code["household-choice"] == {
        "code": "household-choice",
        "name_zh": "随父或随母入户的选择",
        "name": "the household the child joins",
        "satisfied_by": "family",
        "from": {"application": "household"},
        "satisfied": True,
    }
    assert by_code["residence-permit"]["when"] == "cross-province"
    assert by_code["marriage-certificate"]["satisfied"] is None  # shown at the window
    assert shown["supplied_on_notice"] == answers
    # the notice asked for 3: two listed materials (counted once, where the list counts
    # them) and one the list does not name (one more required, the family's)
    assert shown["counts"] == {
        "required": 9,
        "by_sharing": 3,
        "shared": 2,
        "certificate": 1,
        "by_family": 6,
        "in_application": 1,
        "on_notice": 3,
    }
    assert "secret" not in repr(shown)  # field names, never values


HUKOU_HERE = {  # a same-province hukou registration: 6 listed, 3 by sharing, 3 the family's
    "service": "household-registration",
    "receiving_locality": "420102",
    "handling_locality": "420102",
}


def counted(answers: list[list[str]], notices: list[list[str]]) -> tuple[int, int, int]:
    given = [{"items": items, "evidence": []} for items in answers]
    shown = request_materials(load_catalog(), load_materials(), HUKOU_HERE, {}, given, notices)
    counts = shown["counts"]
    assert counts["required"] == counts["by_family"] + counts["by_sharing"]
    return counts["required"], counts["by_family"], counts["on_notice"]


def test_a_notice_counts_what_the_office_asked_once_and_a_listed_material_not_again() -> None:
    """The reviewer's case: the family's free text is not counted; the notice's items are,
    de-duplicated, and an item naming a listed material is that material."""
    assert counted([], []) == (6, 3, 0)
    booklet = ["户口簿", "户口簿", "hukou-booklet"]
    assert counted([booklet], [booklet]) == (6, 3, 1)
    assert counted([[f"item {n}" for n in range(30)]], [["户口簿"]]) == (6, 3, 1)
    asked = ["户口簿", "亲子鉴定意见书", " 亲子鉴定意见书 ", "Proof of Address", "proof of address"]
    assert counted([["whatever"]], [asked]) == (8, 5, 3)
    # two notices (a second for corrected facts): each answered one counts, on its own
    assert counted([["a"], ["b"]], [asked, ["户口簿"]]) == (8, 5, 4)
    assert counted([["a"]], [asked, ["户口簿", "出生证明原件"]]) == (8, 5, 3)  # not answered yet


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ("hukou-booklet", "hukou-booklet"),
        ("Hukou_Booklet", "hukou-booklet"),
        ("户口簿\uff08入户一方\uff09", "hukou-booklet"),  # full-width brackets
        ("户口簿(入户一方)", "hukou-booklet"),
        ("户口簿", "hukou-booklet"),
        (" 户 口 簿 ", "hukou-booklet"),
        ("the registering parent's hukou booklet", "hukou-booklet"),
        ("Registering parent's hukou booklet", "hukou-booklet"),
        ("结婚证", "marriage-certificate"),
        ("\uff2d\uff2f\uff34\uff28\uff25\uff32\uff0d\uff29\uff24", "mother-id"),  # full width
        ("Mother's citizen ID", "mother-id"),
    ],
)
def test_an_item_names_a_listed_material_by_its_code_or_a_name(item: str, code: str) -> None:
    notice = load_materials().notice("household-registration", "420102", "420102", [item, code])
    assert (notice.asked, notice.unlisted) == (1, 0)


def test_an_item_the_route_does_not_require_is_not_a_listed_one() -> None:
    """The residence permit is listed only across provinces: asked of a same-province
    request, it is one more material; across provinces it is the listed one."""
    materials = load_materials()
    here = materials.notice("household-registration", "420102", "420102", ["居住证", ""])
    across = materials.notice("household-registration", "430602", "420102", ["居住证"])
    assert (here.asked, here.unlisted, across.asked, across.unlisted) == (1, 1, 1, 0)
    other = materials.notice("another-wings-service", "43", "43", ["x", "X"])
    assert (other.asked, other.unlisted) == (1, 1)


def test_a_case_counts_what_sharing_spared_its_family() -> None:
    rows = [
        {"service": s, "service_request_id": f"r-{s}", "receiving_locality": "430602"}
        | {"handling_locality": "420102" if s == "household-registration" else "430602"}
        for s in (*load_catalog().codes, "another-wings-service")
    ]
    shown = case_materials(load_catalog(), load_materials(), rows)
    assert [s["service"] for s in shown["services"]] == list(load_catalog().codes)
    assert shown["counts"] == {
        "required": 29,
        "by_sharing": 15,
        "shared": 8,
        "certificate": 7,
        "by_family": 14,
        "in_application": 4,
        "on_notice": 0,
    }
    hukou = next(s for s in shown["services"] if s["service"] == "household-registration")
    assert hukou["service_request_id"] == "r-household-registration"
    # a resubmission (planned later) is the same matter: its list is not counted again
    again = rows[2] | {"service_request_id": "r-household-registration#2"}
    resubmitted = case_materials(load_catalog(), load_materials(), [*rows, again])
    assert resubmitted["counts"] == shown["counts"]
    (latest,) = [s for s in resubmitted["services"] if s["service"] == "household-registration"]
    assert latest["service_request_id"] == "r-household-registration#2"
    assert [s["service"] for s in resubmitted["services"]] == list(load_catalog().codes)
    assert [m["code"] for m in hukou["required"]][-2:] == ["residence-permit", "commitment-letter"]
    assert all("satisfied" not in m for m in hukou["required"])


def test_a_case_counts_each_answered_notice_as_its_office_does() -> None:
    """The family's case view and the office's request view count a request with answered
    notices through one function (request_counts): the same numbers, the case's the sums."""
    request = {"service": "household-registration", "service_request_id": "r-hukou"}
    request |= {"receiving_locality": "430602", "handling_locality": "420102"}
    notices = [["户口簿", "hukou-booklet", "亲子鉴定意见书"], ["居住证"]]
    answers = [{"items": ["户口簿"]}, {"items": ["居住证"]}]
    office = request_materials(load_catalog(), load_materials(), request, {}, answers, notices)
    family = case_materials(load_catalog(), load_materials(), [request], {"r-hukou": notices})
    assert family["services"][0]["counts"] == office["counts"] == family["counts"]
    assert office["counts"]["required"] == 9  # 8 listed, 1 the list does not name
    assert (office["counts"]["by_family"], office["counts"]["on_notice"]) == (6, 3)
