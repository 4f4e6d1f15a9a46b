"""Disclosure: each office sees exactly its visible fields that have a value, in the catalog's
order, as the flattened facts and application gave them before they were typed."""

from __future__ import annotations

from typing import Any

import pytest

from domain.births.birth_case import BirthCase
from domain.births.catalog import load_catalog
from domain.births.family_application import FamilyApplication
from domain.kernel.catalog import ServiceDefinition
from domain.kernel.disclosure import DispatchPayload, disclose
from tests.conftest import CHILD_ID, HOSPITAL, make_facts
from tests.unit.test_orchestrator import FATHER

APPLICATION = FamilyApplication("王小明", "father", "430602", "420102", True, contact_phone="")


def reference(
    service: ServiceDefinition,
    facts: dict[str, Any],
    application: dict[str, Any] | None,
    carried: dict[str, Any],
) -> dict[str, Any]:
    """The former disclosure, on the dicts the events stored."""
    values = {k: v for k, v in facts.items() if k not in ("mother", "father")}
    for who in ("mother", "father"):
        for key, value in (facts.get(who) or {}).items():
            values[f"{who}.{key}"] = value
    values.update({k: v for k, v in (application or {}).items() if v is not None})
    values |= carried
    return {
        name: values[name] for name in service.visible_fields if values.get(name) not in (None, "")
    }


def cases() -> list[BirthCase]:
    found = []
    for father, application in ((None, None), (FATHER, APPLICATION), (FATHER, None)):
        facts = make_facts("MR-D", father=father, child_name=None, birth_doses=())
        case = BirthCase(HOSPITAL, "MR-D", "TRACKCODE123", "m-1", facts)
        if application is not None:
            case.apply(application)
        found.append(case)
    return found


@pytest.mark.parametrize("case", cases(), ids=["mother-only", "applied", "with-father"])
@pytest.mark.parametrize("carried", [{}, {"certificate_number": "X1", "citizen_id": CHILD_ID}])
def test_each_office_sees_what_it_saw_before(case: BirthCase, carried: dict[str, str]) -> None:
    application = case.application.to_dict() if case.application else None
    for service in load_catalog().services:
        payload = disclose(service, case, carried)
        expected = reference(service, case.facts.to_dict(), application, carried)
        assert payload.to_dict() == expected
        assert list(payload) == list(expected)  # the catalog's order: the same stored bytes


def test_a_payload_is_an_immutable_mapping() -> None:
    payload = DispatchPayload({"birth_doses": ("bcg",), "sex": "female"})
    assert dict(payload) == {"birth_doses": ("bcg",), "sex": "female"}
    assert payload.to_dict() == {"birth_doses": ["bcg"], "sex": "female"}
    assert DispatchPayload.from_dict(payload.to_dict()) == payload
    assert payload != {"birth_doses": ("bcg",), "sex": "female"}  # a value, not a dict
    with pytest.raises(TypeError):
        payload["sex"] = "male"  # type: ignore[index]
