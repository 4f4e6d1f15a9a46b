"""Maternity benefits: planned from the family application's mother's insured place, only
when the family says she is insured there; the application stores as before without it."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.births.commands import ApplyAsFamily
from domain.births.family_application import FamilyApplication, check_application
from domain.births.planning import (
    BirthPlanInputs,
    BirthPlanning,
    NotifiedPlaces,
    family_choices,
)
from domain.kernel.errors import InvalidApplicationError, InvalidIdentifierError
from tests.conftest import make_facts


def applied(**changes: object) -> FamilyApplication:
    fields: dict[str, object] = {
        "case_id": uuid4(),
        "child_name": "王小明",
        "household": "mother",
        "residence_division": "430602",
        "insured_division": None,
        "consent": True,
    }
    return check_application(ApplyAsFamily(**(fields | changes)), make_facts())  # type: ignore[arg-type]


NOTIFIED = NotifiedPlaces("430602", None, "420102", None, "430602", child_named=False)


def mother_insured_place(application: FamilyApplication) -> str | None:
    inputs = BirthPlanning().merged(BirthPlanInputs(NOTIFIED), family_choices(application))
    places = BirthPlanning().routing(inputs)
    assert places is not None
    return places.of("mother-insured-place")


def test_the_mothers_insured_place_is_planned_when_she_is_insured_there() -> None:
    application = applied(mother_insured_division="110105", mother_insured=True)
    assert mother_insured_place(application) == "110105"


def test_a_place_without_insurance_there_plans_nothing() -> None:
    application = applied(mother_insured_division="110105", mother_insured=False)
    assert application.mother_insured_division == "110105"
    assert mother_insured_place(application) is None
    assert mother_insured_place(applied()) is None


def test_insured_needs_the_place_and_the_place_is_a_division() -> None:
    with pytest.raises(InvalidApplicationError) as named:
        applied(mother_insured=True)
    assert named.value.context["field"] == "mother_insured_division"
    with pytest.raises(InvalidIdentifierError):
        applied(mother_insured_division="11010X", mother_insured=True)


def test_an_application_without_it_is_stored_as_before() -> None:
    plain = applied()
    assert "mother_insured_division" not in plain.to_dict()
    assert FamilyApplication.from_dict(plain.to_dict()) == plain
    insured = applied(mother_insured_division="110105", mother_insured=True)
    assert FamilyApplication.from_dict(insured.to_dict()) == insured
    stored = BirthPlanInputs(NOTIFIED, family_choices(plain)).to_dict()["application"]
    assert stored is not None
    assert "mother_insured" not in stored
