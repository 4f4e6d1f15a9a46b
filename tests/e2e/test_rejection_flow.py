"""Issue 17, "Rejections end well", over HTTP on SQLite and PostgreSQL: a rejection names its
reason and basis and what the family can do, dependents wait `blocked` naming it, and the case
ends either by a resubmission (a new request, linked) that completes it, or `closed` with a
summary (by the family, or by the deadline job once the family's window passed), and rated."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.commands import NotifyBirth
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.remedies import load_remedies
from tests.conftest import make_facts
from tests.e2e.test_cross_province_flow import Offices, authority_of

CHILD_ID = make_citizen_id("420102", date(2026, 11, 20), 28)
BASIS = "《出生医学证明》管理办法 第十条"  # cited by the office (a synthetic example)
APPLICATION = {
    "child_name": "王小明",
    "household": "mother",
    "residence_division": "430602",
    "consent": True,
}
RESULTS = {
    "birth-certificate": {"certificate_number": "X430602001"},
    "household-registration": {"citizen_id": CHILD_ID},
    "medical-insurance": {"enrolment_number": "MI-420102-0001"},
    "social-security-card": {"card_number": "SSC-420102-0001"},
    "vaccination": {"vaccination_record_number": "VR-430602-0001"},
}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


class Journey:
    """One case, its family, an admin and the offices, spoken to over HTTP."""

    def __init__(self, client: TestClient, container: Container, ref: str) -> None:
        self.client, self.container = client, container
        outcome = container.ledger.notify_birth(NotifyBirth(f"m-{ref}", make_facts(ref), b"{}"))
        container.after_command()
        self.case_id = outcome.case_id
        self.family = self.bearer(container.actors.add("family", str(self.case_id))[1])
        self.admin = self.bearer(container.actors.add("admin", None)[1])
        self.offices = Offices(container)
        applied = client.post(
            f"/cases/{self.case_id}/family-application", headers=self.family, json=APPLICATION
        )
        assert applied.status_code == 200, applied.json()

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def view(self) -> dict[str, Any]:
        response = self.client.get(f"/cases/{self.case_id}", headers=self.family)
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    def services(self) -> dict[str, dict[str, Any]]:
        """The family's view of the latest attempt of each service."""
        latest: dict[str, dict[str, Any]] = {}
        for entry in self.view()["services"]:
            latest[entry["service"]] = entry  # attempts are listed in order
        return latest

    def post(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body, headers=headers)

    def office(self, service: str, side: str) -> dict[str, str]:
        entry = self.services()[service]
        return self.offices.header(entry[f"{side}_locality"], authority_of(service))

    def step(self, service: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        side = "receiving" if action == "receive" else "handling"
        request_id = self.services()[service]["service_request_id"]
        response = self.post(
            f"/service-requests/{request_id}/{action}", self.office(service, side), body
        )
        assert response.status_code == 200, response.json()
        result: dict[str, Any] = response.json()
        return result

    def decide(self, service: str) -> None:
        self.step(service, "receive", {"receipt_number": f"R-{service}"})
        self.step(service, "approve", RESULTS[service])

    def reject(self, service: str, reason: str) -> dict[str, Any]:
        self.step(service, "receive", {"receipt_number": f"R-{service}"})
        return self.step(service, "reject", {"reason": reason, "basis": BASIS})


def test_a_rejection_needs_its_legal_basis(client: TestClient, container: Container) -> None:
    journey = Journey(client, container, "MR-B")
    journey.step("birth-certificate", "receive", {"receipt_number": "R-1"})
    request_id = journey.services()["birth-certificate"]["service_request_id"]
    headers = journey.office("birth-certificate", "handling")
    for body in ({"reason": "the mother's ID does not match"}, {"reason": "x", "basis": " "}):
        response = journey.post(f"/service-requests/{request_id}/reject", headers, body)
        assert response.status_code == 422, response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["field"] == "basis"


def test_rejection_then_resubmission_completes_the_case(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-R")
    rejected = journey.reject("birth-certificate", "the child's name differs from the mother's")
    first_id = rejected["service_request_id"]
    assert rejected["state"] == "rejected"
    assert rejected["rejection"]["basis"] == BASIS

    # the family reads why, what it can do and by when; dependents wait, naming the rejection
    view = journey.view()
    services = journey.services()
    rejection = services["birth-certificate"]["rejection"]
    assert rejection["reason"] == "the child's name differs from the mother's"
    assert rejection["basis"] == BASIS
    assert rejection["due"] is not None
    assert [r["code"] for r in rejection["remedies"]] == [r.code for r in load_remedies().remedies]
    for dependent in ("household-registration", "medical-insurance", "social-security-card"):
        assert services[dependent]["state"] == "blocked"
        assert services[dependent]["blocked_by"] == {
            "service": "birth-certificate",
            "service_request_id": first_id,
        }
    assert services["vaccination"]["state"] == "dispatched"  # does not depend on it
    assert view["next_action"] == f"resubmit: birth-certificate rejected, by {rejection['due']}"
    queue = client.get("/offices/420102/public-security/queue", headers=journey.admin).json()
    assert all(r["state"] != "blocked" for r in queue["rows"])
    assert not [r for r in queue["rows"] if r["state"] in ("dispatched", "received")]

    # corrected data through the family application, then the resubmission: a new request
    corrected = {**APPLICATION, "child_name": "王晓明"}
    applied = journey.post(
        f"/cases/{journey.case_id}/family-application", journey.family, corrected
    )
    assert applied.status_code == 200
    response = journey.post(f"/service-requests/{first_id}/resubmit", journey.family, {})
    assert response.status_code == 200, response.json()
    second = response.json()
    assert second["service_request_id"] != first_id
    assert (second["attempt"], second["resubmits"]) == (2, first_id)
    again = journey.post(f"/service-requests/{first_id}/resubmit", journey.family, {})
    assert again.status_code == 409  # a rejection is resubmitted once

    entries = journey.view()["services"]
    certificates = [e for e in entries if e["service"] == "birth-certificate"]
    assert [c["service_request_id"] for c in certificates] == [
        first_id,
        second["service_request_id"],
    ]
    assert certificates[0]["resubmitted_as"] == second["service_request_id"]
    assert certificates[1]["state"] == "dispatched"
    waiting = [e for e in entries if e["state"] == "blocked"]
    assert len(waiting) == 3
    assert {e["blocked_by"]["service_request_id"] for e in waiting} == {
        second["service_request_id"]
    }  # what they wait on now: the resubmission, at its office
    new_request = container.ledger.get_request(UUID(second["service_request_id"]))
    assert new_request.payload["child_name"] == "王晓明"  # the case's corrected data

    for service in ("birth-certificate", "household-registration", "vaccination"):
        journey.decide(service)
    unblocked = journey.services()
    assert unblocked["medical-insurance"]["state"] == "dispatched"
    assert unblocked["medical-insurance"]["blocked_by"] is None
    for service in ("medical-insurance", "social-security-card"):
        journey.decide(service)
    view = journey.view()
    assert view["state"] == "completed"
    history = client.get(f"/cases/{journey.case_id}/history", headers=journey.admin).json()
    names = [e["event"] for e in history["events"]]
    assert {"Rejected", "Blocked", "Resubmitted", "Completed"} <= set(names)
    assert (names.count("Planned"), names.count("Approved")) == (6, 5)  # with the resubmission
    family_history = client.get(f"/cases/{journey.case_id}/history", headers=journey.family)
    shown = {e["event"]: e["data"] for e in family_history.json()["events"]}
    assert shown["Resubmitted"] == {"new_request_id": second["service_request_id"], "attempt": 2}
    assert shown["Blocked"]["blocking_service"] == "birth-certificate"
    replayed = client.get(f"/cases/{journey.case_id}", headers=journey.admin).json()
    assert [s["service_request_id"] for s in replayed["services"]] == [
        s["service_request_id"] for s in view["services"]
    ]  # an admin's view, replayed from the events, lists the attempts as the family's does
    rated = journey.post(f"/cases/{journey.case_id}/rating", journey.family, {"score": 4})
    assert rated.status_code == 201


def test_rejection_then_the_family_closes_and_rates(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-C")
    close = f"/cases/{journey.case_id}/close"
    assert journey.post(close, journey.family, {}).status_code == 409  # nothing rejected
    journey.decide("birth-certificate")
    hukou = journey.reject("household-registration", "no residence permit at the residence")
    not_yet = journey.post(close, journey.family, {})
    assert not_yet.status_code == 409  # the vaccination office still holds its request
    assert "can still proceed" in not_yet.json()["detail"]
    journey.decide("vaccination")
    assert journey.view()["next_action"].startswith("resubmit or close: household-registration")

    closed = journey.post(close, journey.family, {"reason": "we will register later"})
    assert closed.status_code == 200, closed.json()
    view = journey.view()
    assert view["state"] == "closed"
    assert view["summary"] == {
        "issued": ["birth-certificate", "vaccination"],
        "rejected": [
            {
                "service": "household-registration",
                "service_request_id": hukou["service_request_id"],
                "reason": "no residence permit at the residence",
                "basis": BASIS,
            }
        ],
        "not_proceeded": ["medical-insurance", "social-security-card"],
    }
    assert view["next_action"] == "rate: the service"
    rejected_id = hukou["service_request_id"]
    late = journey.post(f"/service-requests/{rejected_id}/resubmit", journey.family, {})
    assert late.status_code == 409  # the case is closed
    rated = journey.post(f"/cases/{journey.case_id}/rating", journey.family, {"score": 2})
    assert rated.status_code == 201
    assert journey.view()["next_action"] == "nothing: closed and rated"


def test_the_deadline_job_closes_a_case_whose_window_passed(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-D")
    journey.decide("vaccination")
    rejected = journey.reject("birth-certificate", "the mother's ID does not match")
    due = date.fromisoformat(rejected["rejection"]["due"])
    assert container.watch_deadlines() == 0  # within the window: the family acts next
    assert journey.view()["state"] == "in-progress"

    ledger = container.ledger
    ledger.clock = lambda: datetime.combine(due, datetime.min.time(), UTC) + timedelta(days=1)
    assert container.watch_deadlines() == 1
    container.after_command()
    view = journey.view()
    assert view["state"] == "closed"
    assert view["summary"]["issued"] == ["vaccination"]
    assert {s["state"] for s in view["services"] if s["service"] != "vaccination"} == {
        "rejected",
        "withdrawn",
    }
    assert container.watch_deadlines() == 0
    rated = journey.post(f"/cases/{journey.case_id}/rating", journey.family, {"score": 3})
    assert rated.status_code == 201
