"""The clerk's workbench after a decision, over HTTP on SQLite and PostgreSQL: a correction
asked of the office shows its old and new values, evidence and due date, a revocation its
reason and due date (the page draws them from these members, not from the timeline); a
rejection of a case closed since offers no resubmission."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.kernel.service_request import ServiceRequest
from tests.e2e.test_corrections_and_voids import BORN_EARLIER, OLD_ID, Journey
from tests.e2e.test_rejection_flow import Journey as RejectionJourney
from tests.e2e.test_workbench_search import NEW_MOTHER_ID


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def workbench(journey: Journey, service: str) -> dict[str, Any]:
    path = f"/service-requests/{journey.request_id(service)}"
    response = journey.client.get(path, headers=journey.office(service))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_a_correction_asked_of_the_office_shows_what_to_decide(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-WD1")
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    journey.decide("household-registration", {"citizen_id": OLD_ID})
    old_mother = journey.facts.mother.citizen_id
    assert workbench(journey, "household-registration")["correction"] is None
    mother = replace(journey.facts.mother, citizen_id=NEW_MOTHER_ID)
    corrected = replace(journey.facts, mother=mother, born_at=BORN_EARLIER)
    journey.send(corrected, "MR-WD1-u", "update")

    view = workbench(journey, "household-registration")
    assert view["state"] == "correction-requested"
    assert view["dispatched"]["mother.citizen_id"] == old_mother  # what it decided on
    assert view["correction"] == {
        "old": {"mother.citizen_id": old_mother, "born_at": "2026-11-20T08:30:00+08:00"},
        "new": {"mother.citizen_id": NEW_MOTHER_ID, "born_at": BORN_EARLIER.isoformat()},
        "evidence": ["MR-WD1-u"],
        "due": view["due"],
        "due_provisional": view["due_provisional"],
    }
    assert view["due"]
    assert view["revocation"] is None
    # the birth certificate's office is asked only about the fields its service is sent
    certificate = workbench(journey, "birth-certificate")["correction"]
    visible = set(workbench(journey, "birth-certificate")["dispatched"])
    assert set(certificate["new"]) <= visible
    assert set(certificate["old"]) <= visible


def test_a_revocation_asked_of_the_office_shows_its_reason_and_due_date(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-WD2")
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    journey.send(journey.facts, "MR-WD2-v", "void")

    view = workbench(journey, "birth-certificate")
    assert view["state"] == "revocation-requested"
    events = container.ledger.events.get(journey.request("birth-certificate").id)
    [asked] = [e for e in events if isinstance(e, ServiceRequest.RevocationRequested)]
    assert asked.reason
    assert view["revocation"] == {
        "reason": asked.reason,
        "due": asked.due,
        "due_provisional": asked.provisional,
    }
    assert view["correction"] is None


def test_a_rejection_of_a_closed_case_offers_no_resubmission(
    client: TestClient, container: Container
) -> None:
    journey = RejectionJourney(client, container, "MR-WD3")
    journey.decide("birth-certificate")
    rejected = journey.reject("household-registration", "no residence permit")
    request_id = rejected["service_request_id"]
    headers = journey.office("household-registration", "handling")
    view = client.get(f"/service-requests/{request_id}", headers=headers).json()
    assert [a["action"] for a in view["actions"]] == ["resubmit"]  # the case is open
    assert view["next"]["party"] == "family"

    journey.decide("vaccination")
    closed = journey.post(f"/cases/{journey.case_id}/close", journey.family, {"reason": "later"})
    assert closed.status_code == 200, closed.text
    view = client.get(f"/service-requests/{request_id}", headers=headers).json()
    assert view["actions"] == []
    assert view["next"] is None
    refused = journey.post(f"/service-requests/{request_id}/resubmit", headers, {})
    assert refused.status_code == 409  # what the actions no longer offer
