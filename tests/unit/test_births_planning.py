"""The births wing's planning rules, as the saga's decider reads them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

import pytest

from domain.births.family_application import FamilyApplication
from domain.births.planning import (
    BirthPlanInputs,
    BirthPlanning,
    FamilyChoices,
    NotifiedPlaces,
    RoutingInputs,
    family_choices,
    notified_places,
)
from domain.kernel.errors import DomainError
from tests.conftest import make_facts

PLANNING = BirthPlanning()
PLACES = NotifiedPlaces("430602", "mother", "420102", "520102", "430602", child_named=False)
CHOICES = FamilyChoices("father", "420102", "420103", child_named=True)


def test_routing_reads_places_and_choices_of_the_birth_record_only() -> None:
    facts = make_facts()
    assert notified_places(facts) == NotifiedPlaces(
        "430602", "mother", "420102", None, "430602", child_named=False
    )
    assert notified_places(replace(facts, child_name="王小明", father=None)).child_named


def test_the_family_s_choices_are_read_from_its_application() -> None:
    application = FamilyApplication(
        child_name="王小明",
        household="father",
        residence_division="420102",
        insured_division=None,
        consent=True,
        contact_phone=None,
    )
    assert family_choices(application) == FamilyChoices("father", "420102", None, True)


def test_the_hospital_s_record_opens_and_corrects_the_inputs_the_family_completes() -> None:
    opened = PLANNING.merged(None, PLACES)
    assert opened == BirthPlanInputs(PLACES)
    applied = PLANNING.merged(opened, CHOICES)
    assert applied == BirthPlanInputs(PLACES, CHOICES)
    corrected = PLANNING.merged(applied, replace(PLACES, birth_division="430603"))
    assert corrected.application == CHOICES
    with pytest.raises(ValueError, match="notified first"):
        PLANNING.merged(None, CHOICES)


def test_the_household_chooses_whose_hukou_county_handles_registration() -> None:
    assert (
        PLANNING.routing(BirthPlanInputs(PLACES))
        == RoutingInputs("430602", "430602", "mother", "420102").places()
    )
    assert (
        PLANNING.routing(BirthPlanInputs(PLACES, CHOICES))
        == RoutingInputs("430602", "420102", "father", "520102", "420103").places()
    )


@pytest.mark.parametrize(
    "places",
    [
        replace(PLACES, household=None),
        replace(PLACES, mother_hukou=None),
        replace(PLACES, residence=None),
        replace(PLACES, birth_division=None),
    ],
)
def test_planning_waits_for_household_hukou_residence_and_birth_place(
    places: NotifiedPlaces,
) -> None:
    assert PLANNING.routing(BirthPlanInputs(places)) is None


def test_a_household_of_no_parent_waits_and_a_malformed_place_is_refused() -> None:
    assert PLANNING.routing(BirthPlanInputs(replace(PLACES, household="aunt"))) is None
    with pytest.raises(DomainError):
        PLANNING.routing(BirthPlanInputs(replace(PLACES, residence="43060")))


def test_the_birth_certificate_waits_for_the_child_s_name() -> None:
    unnamed, named = BirthPlanInputs(PLACES), BirthPlanInputs(PLACES, CHOICES)
    assert not PLANNING.may_dispatch(unnamed, "birth-certificate")
    assert PLANNING.may_dispatch(unnamed, "vaccination")
    assert PLANNING.may_dispatch(named, "birth-certificate")
    assert PLANNING.may_dispatch(
        BirthPlanInputs(replace(PLACES, child_named=True)), "birth-certificate"
    )


def test_the_inputs_round_trip_through_the_dict_version_1_stored() -> None:
    stored_v1 = {"facts": vars(PLACES).copy()}  # before the family applied: no application key
    assert BirthPlanInputs.from_dict(stored_v1) == BirthPlanInputs(PLACES)
    both = BirthPlanInputs(PLACES, CHOICES)
    assert BirthPlanInputs.from_dict(both.to_dict()) == both


def test_the_family_applies_within_a_month_of_birth() -> None:
    from datetime import date, datetime, timedelta, timezone

    from domain.births.planning import apply_by
    from tests.conftest import make_facts

    cst = timezone(timedelta(hours=8))
    for born, due in [
        (datetime(2026, 11, 20, 8, 30, tzinfo=cst), date(2026, 12, 20)),
        (datetime(2026, 12, 31, 23, 0, tzinfo=cst), date(2027, 1, 31)),
        (datetime(2027, 1, 31, 1, 0, tzinfo=cst), date(2027, 2, 28)),  # a shorter month
        (datetime(2026, 11, 30, 17, 0, tzinfo=UTC), date(2027, 1, 1)),  # 1 Dec in CST
    ]:
        assert apply_by(make_facts(born_at=born)) == due
