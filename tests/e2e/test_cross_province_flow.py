"""Issue 4's journey over HTTP: one birth in Yueyang fans out to Wuhan and completes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from domain.births.catalog import load_catalog
from domain.births.commands import NotifyBirth, VoidNotification
from domain.births.facts import BirthFacts, Parent
from domain.kernel.case_plan import CasePlan
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest
from domain.wings import list_in_force
from tests.conftest import HOSPITAL, make_facts
from tests.e2e.test_routing_desk_flow import UNLISTED

CHILD_ID = make_citizen_id("420102", date(2026, 11, 20), 28)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


class Offices:
    """Tokens for the offices of the scenario, added through the actor directory."""

    def __init__(self, container: Container) -> None:
        self.tokens: dict[tuple[str, str], str] = {}
        for locality, authority in [
            ("430602", "health"),
            ("430602", "cdc"),
            ("430602", "public-security"),
            ("420102", "public-security"),
            ("420102", "medical-insurance"),
            ("420102", "hrss"),
            ("430602", "medical-insurance"),
            ("430602", "hrss"),
        ]:
            self.tokens[(locality, authority)] = container.actors.add(
                "office", locality, authority
            )[1]

    def header(self, locality: str, authority: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(locality, authority)]}"}


def services(client: TestClient, case_id: UUID, token: str) -> dict[str, dict[str, Any]]:
    view = client.get(f"/cases/{case_id}", headers={"Authorization": f"Bearer {token}"}).json()
    return {s["service"]: s for s in view["services"]}


def step(
    client: TestClient, request_id: str, action: str, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(f"/service-requests/{request_id}/{action}", json=body, headers=headers)
    assert response.status_code == 200, response.json()
    result: dict[str, Any] = response.json()
    return result


def test_born_in_yueyang_registered_in_wuhan(client: TestClient, container: Container) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    container.after_command()
    _, family = container.actors.add("family", str(outcome.case_id))
    _, admin = container.actors.add("admin", None)
    offices = Offices(container)
    plan = services(client, outcome.case_id, admin)
    hukou = plan["household-registration"]
    assert (hukou["handling_locality"], hukou["receiving_locality"], hukou["mode"]) == (
        "420102",
        "430602",
        "off-site",
    )
    assert plan["vaccination"]["handling_locality"] == "430602"
    assert plan["birth-certificate"]["state"] == "planned"  # waits for the child's name

    applied = client.post(
        f"/cases/{outcome.case_id}/family-application",
        headers={"Authorization": f"Bearer {family}"},
        json={
            "child_name": "王小明",
            "household": "mother",
            "residence_division": "430602",
            "consent": True,
        },
    )
    assert applied.status_code == 200, applied.json()
    certificate = plan["birth-certificate"]["service_request_id"]
    step(
        client,
        certificate,
        "receive",
        offices.header("430602", "health"),
        {"receipt_number": "R-1"},
    )
    step(
        client,
        certificate,
        "approve",
        offices.header("430602", "health"),
        {"certificate_number": "X430602001"},
    )
    hukou_request = container.ledger.get_request(UUID(hukou["service_request_id"]))
    assert hukou_request.state == "dispatched"
    assert hukou_request.payload["certificate_number"] == "X430602001"

    hukou_id = hukou["service_request_id"]
    step(
        client,
        hukou_id,
        "receive",
        offices.header("430602", "public-security"),
        {"receipt_number": "R-2"},
    )
    wrong_county = client.post(
        f"/service-requests/{hukou_id}/approve",
        headers=offices.header("420102", "public-security"),
        json={"citizen_id": make_citizen_id("430602", date(2026, 11, 20), 28)},
    )
    assert wrong_county.status_code == 422
    assert wrong_county.json()["field"] == "citizen_id"
    receiving_only = client.post(
        f"/service-requests/{hukou_id}/approve",
        headers=offices.header("430602", "public-security"),
        json={"citizen_id": CHILD_ID},
    )
    assert receiving_only.status_code == 404  # the receiving window cannot decide
    step(
        client,
        hukou_id,
        "approve",
        offices.header("420102", "public-security"),
        {"citizen_id": CHILD_ID},
    )
    for service in ("medical-insurance", "social-security-card"):
        request = container.ledger.get_request(UUID(plan[service]["service_request_id"]))
        assert request.state in ("dispatched", "planned")
    insurance = container.ledger.get_request(UUID(plan["medical-insurance"]["service_request_id"]))
    assert insurance.payload["citizen_id"] == CHILD_ID

    finish(client, offices, plan)
    view = client.get(f"/cases/{outcome.case_id}", headers={"Authorization": f"Bearer {family}"})
    assert view.json()["state"] == "completed"
    rated = client.post(
        f"/cases/{outcome.case_id}/rating",
        headers={"Authorization": f"Bearer {family}"},
        json={"score": 5, "comment": "一次办好"},
    )
    assert rated.status_code == 201


def finish(client: TestClient, offices: Offices, plan: dict[str, dict[str, Any]]) -> None:
    results = {
        "medical-insurance": {"enrolment_number": "MI-420102-0001"},
        "social-security-card": {"card_number": "SSC-420102-0001"},
        "vaccination": {"vaccination_record_number": "VR-430602-0001"},
    }
    for service, result in results.items():
        route = plan[service]
        receiving = offices.header(route["receiving_locality"], authority_of(service))
        handling = offices.header(route["handling_locality"], authority_of(service))
        step(
            client,
            route["service_request_id"],
            "receive",
            receiving,
            {"receipt_number": f"R-{service}"},
        )
        step(client, route["service_request_id"], "approve", handling, result)


def authority_of(service: str) -> str:
    return load_catalog()[service].authority


def test_a_void_withdraws_every_open_request(container: Container) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-v", make_facts("MR-V"), b"{}"))
    container.after_command()
    container.ledger.void_notification(VoidNotification("m-v2", HOSPITAL, "MR-V"))
    container.after_command()
    case = container.ledger.get_case(outcome.case_id)
    assert case.state == "voided"
    states = {
        s: container.ledger.get_request(ServiceRequest.create_id(case.id, s)).state
        for s in case.planned_services
    }
    assert set(states.values()) == {"withdrawn"}


def test_a_case_no_agreement_covers_is_routed_by_the_national_list(container: Container) -> None:
    # Residence in Harbin (230102) and hukou in Urumqi (650102): neither city is in the alliance.
    outcome = container.ledger.notify_birth(NotifyBirth("m-m", harbin_facts(), b"{}"))
    container.after_command()
    request = container.ledger.get_request(
        ServiceRequest.create_id(outcome.case_id, "household-registration")
    )
    assert request.route.manual_routing is False
    assert (request.receiving_locality, request.route.mode) == ("230102", "off-site")
    assert request.state == "planned"  # waits for the birth certificate


def test_without_a_list_entry_it_is_planned_for_the_routing_desk(container: Container) -> None:
    with list_in_force(UNLISTED):
        outcome = container.ledger.notify_birth(NotifyBirth("m-m", harbin_facts(), b"{}"))
        container.after_command()
    request = container.ledger.get_request(
        ServiceRequest.create_id(outcome.case_id, "household-registration")
    )
    assert request.route.manual_routing is True
    assert request.state == "planned"
    assert request.parked


def harbin_facts() -> BirthFacts:
    mother = Parent(
        citizen_id=make_citizen_id("650102", date(1993, 5, 1), 222),
        name="王芳",
        hukou_division="650102",
        residence_division="230102",
    )
    return make_facts("MR-M", mother=mother, birth_division="230102")


def test_a_restart_mid_flow_loses_and_doubles_nothing(settings: Settings) -> None:
    first = build(settings.with_changes(embedded_worker=False))
    outcome = first.ledger.notify_birth(
        NotifyBirth("m-r", make_facts("MR-R", child_name="王小红"), b"{}")
    )
    first.orchestrator.pull_and_process(first.ledger.name)  # planned, not yet carried out
    first.close()
    second = build(settings)
    second.processing.settle()
    second.processing.settle()
    case = second.ledger.get_case(outcome.case_id)
    assert len(case.planned_services) == 5
    events = list(second.ledger.events.get(ServiceRequest.create_id(case.id, "birth-certificate")))
    assert [type(e).__name__ for e in events] == ["Planned", "Dispatched"]
    plan_events = [
        type(e).__name__ for e in second.orchestrator.events.get(CasePlan.create_id(case.id))
    ]
    assert plan_events.count("PlanDrawn") == 1
    second.close()
