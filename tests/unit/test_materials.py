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
    shown = request_materials(load_catalog(), load_materials(), request, dispatched, answers)
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
    assert shown["counts"] == {
        "required": 10,
        "by_sharing": 3,
        "shared": 2,
        "certificate": 1,
        "by_family": 7,
        "in_application": 1,
        "on_notice": 2,
    }
    assert "secret" not in repr(shown)  # field names, never values


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
    }
    hukou = next(s for s in shown["services"] if s["service"] == "household-registration")
    assert hukou["service_request_id"] == "r-household-registration"
    assert [m["code"] for m in hukou["required"]][-2:] == ["residence-permit", "commitment-letter"]
    assert all("satisfied" not in m for m in hukou["required"])
