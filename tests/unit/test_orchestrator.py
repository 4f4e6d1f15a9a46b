"""The Orchestrator on in-memory stores: planning, waiting, re-planning, corrections."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from typing import Any
from uuid import UUID

import pytest

from adapters.bootstrap import Container
from domain.births.catalog import load_catalog
from domain.births.commands import ApplyAsFamily, CorrectNotification, NotifyBirth
from domain.births.facts import Parent
from domain.births.planning import RoutingInputs
from domain.births.wing import BIRTHS
from domain.kernel.routing import plan_services
from domain.kernel.service_request import ServiceRequest
from domain.orchestrator import planned
from domain.wings import load_alliance, load_national_list
from tests.conftest import make_facts

FATHER = Parent(citizen_id=None, name="王强", hukou_division="520102")  # Guiyang Nanming


def request(container: Container, case_id: UUID, service: str) -> ServiceRequest:
    return container.ledger.get_request(ServiceRequest.create_id(case_id, service))


def names(container: Container, case_id: UUID, service: str) -> list[str]:
    events = container.ledger.events.get(ServiceRequest.create_id(case_id, service))
    return [type(e).__name__ for e in events]


def notify(container: Container, **changes: Any) -> UUID:
    outcome = container.ledger.notify_birth(NotifyBirth("m-1", make_facts(**changes), b"{}"))
    container.after_command()
    return outcome.case_id


def test_planned_at_once_when_the_hospital_sends_the_choices(memory_container: Container) -> None:
    case_id = notify(memory_container)
    assert request(memory_container, case_id, "vaccination").state == "dispatched"
    assert request(memory_container, case_id, "birth-certificate").state == "planned"  # no name yet
    assert request(memory_container, case_id, "household-registration").state == "planned"
    versions = request(memory_container, case_id, "vaccination").route
    assert (versions.catalog_version, versions.alliance_version) == ("2026.2", "2026.2")


def test_without_a_household_choice_planning_waits_for_the_family(
    memory_container: Container,
) -> None:
    case_id = notify(memory_container, household_choice=None)
    assert memory_container.ledger.get_case(case_id).planned_services == []
    memory_container.ledger.apply_as_family(
        ApplyAsFamily(case_id, "王小明", "mother", "430602", None, True)
    )
    memory_container.after_command()
    assert request(memory_container, case_id, "birth-certificate").state == "dispatched"
    assert (
        request(memory_container, case_id, "household-registration").route.handling_locality
        == "420102"
    )


def test_a_changed_choice_replans_what_is_not_dispatched(memory_container: Container) -> None:
    case_id = notify(memory_container, father=FATHER)
    memory_container.ledger.apply_as_family(
        ApplyAsFamily(case_id, "王小明", "father", "430602", None, True)
    )
    memory_container.after_command()
    hukou = request(memory_container, case_id, "household-registration")
    assert hukou.route.handling_locality == "520102"
    assert names(memory_container, case_id, "household-registration") == ["Planned", "Replanned"]
    assert names(memory_container, case_id, "vaccination") == ["Planned", "Dispatched"]


def test_a_correction_reaches_offices_that_hold_the_changed_fact_with_its_value(
    memory_container: Container,
) -> None:
    case_id = notify(memory_container, child_name="王小明")
    corrected = replace(make_facts(child_name="王小明"), birth_weight_g=3400)
    memory_container.ledger.correct_notification(CorrectNotification("m-2", corrected, b"{}"))
    memory_container.after_command()
    assert names(memory_container, case_id, "birth-certificate")[-1] == "Redispatched"
    assert names(memory_container, case_id, "vaccination")[-1] == "Redispatched"
    assert request(memory_container, case_id, "vaccination").payload["birth_weight_g"] == 3400
    assert names(memory_container, case_id, "household-registration") == ["Planned"]


def test_a_correction_of_a_hidden_fact_is_not_flagged(memory_container: Container) -> None:
    case_id = notify(memory_container, child_name="王小明")
    corrected = replace(make_facts(child_name="王小明"), apgar_5=9)
    memory_container.ledger.correct_notification(CorrectNotification("m-2", corrected, b"{}"))
    memory_container.after_command()
    assert names(memory_container, case_id, "vaccination") == ["Planned", "Dispatched"]


def test_the_remembered_plan_equals_routing_and_is_a_frozen_value() -> None:
    inputs = RoutingInputs("430602", "430602", "mother", "420102")
    expected = plan_services(inputs.places(), load_catalog(), load_alliance(), load_national_list())
    first, second = planned(inputs.places(), BIRTHS), planned(inputs.places(), BIRTHS)
    assert first == second == expected
    assert first is second  # computed once; frozen, so the events that carry it may share it
    with pytest.raises(FrozenInstanceError):
        first.services[0].mode = "changed"  # type: ignore[misc]
