"""Issue 17's corrections and voids after decisions, over HTTP on each store.

A birth-date correction after approvals reaches the deciding offices as correction requests
(old and new values, the hospital message as evidence); their re-issued results, checked on
the corrected facts, are carried to the offices that take them. A void after approvals asks
each office that issued a result to revoke it, and the case is voided once all have.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import orjson
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.commands import VoidNotification
from domain.births.facts import BirthFacts
from domain.kernel.identifiers import make_citizen_id
from integrations.hospital.writer import notification_message
from tests.conftest import CST, HOSPITAL, make_facts
from tests.e2e.test_cross_province_flow import Offices, authority_of, services, step
from tests.e2e.test_hospital_intake import ack_parameters

FHIR = "application/fhir+json"
OLD_ID = make_citizen_id("420102", date(2026, 11, 20), 28)
NEW_ID = make_citizen_id("420102", date(2026, 11, 19), 28)
BORN_EARLIER = datetime(2026, 11, 19, 23, 40, tzinfo=CST)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


class Journey:
    """One birth in Yueyang (hukou in Wuhan) as its hospital, family and offices see it."""

    def __init__(self, client: TestClient, container: Container, record_ref: str) -> None:
        self.client, self.container = client, container
        self.facts = make_facts(record_ref, child_name="王小明")
        hospital = container.actors.add("hospital", HOSPITAL)[1]
        self.hospital = {"Authorization": f"Bearer {hospital}", "Content-Type": FHIR}
        answer = self.send(self.facts, f"{record_ref}-n", "notify")
        self.case_id = UUID(answer["case_id"])
        self.family = container.actors.add("family", str(self.case_id))[1]
        self.admin = container.actors.add("admin", None)[1]
        self.offices = Offices(container)
        self.plan = services(client, self.case_id, self.admin)

    def send(self, facts: BirthFacts, message_id: str, kind: str) -> dict[str, str]:
        body = orjson.dumps(notification_message(facts, message_id, kind=kind))
        response = self.client.post("/fhir/$process-message", content=body, headers=self.hospital)
        assert response.status_code == 200, response.json()
        answer: dict[str, str] = ack_parameters(response.json())
        return answer

    def request_id(self, service: str) -> str:
        return str(self.plan[service]["service_request_id"])

    def office(self, service: str, side: str = "handling") -> dict[str, str]:
        locality = self.plan[service][f"{side}_locality"]
        return self.offices.header(locality, authority_of(service))

    def decide(self, service: str, result: dict[str, str]) -> None:
        request_id = self.request_id(service)
        receipt = {"receipt_number": f"R-{service}"}
        step(self.client, request_id, "receive", self.office(service, "receiving"), receipt)
        step(self.client, request_id, "approve", self.office(service), result)

    def act(self, service: str, action: str, body: dict[str, Any]) -> Any:
        return self.client.post(
            f"/service-requests/{self.request_id(service)}/{action}",
            json=body,
            headers=self.office(service),
        )

    def request(self, service: str) -> Any:
        return self.container.ledger.get_request(UUID(self.request_id(service)))

    def family_view(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.family}"}
        view: dict[str, Any] = self.client.get(f"/cases/{self.case_id}", headers=headers).json()
        return view

    def queue(self, service: str, **params: str) -> list[dict[str, Any]]:
        locality = self.plan[service]["handling_locality"]
        authority = authority_of(service)
        answer = self.client.get(
            f"/offices/{locality}/{authority}/queue",
            params=params,
            headers=self.offices.header(locality, authority),
        )
        assert answer.status_code == 200, answer.json()
        rows: list[dict[str, Any]] = answer.json()["rows"]
        return [r for r in rows if r["case_id"] == str(self.case_id)]


def history(journey: Journey, service: str, event: str) -> dict[str, Any]:
    headers = journey.office(service)
    entries = journey.client.get(f"/cases/{journey.case_id}/history", headers=headers).json()
    found = [e for e in entries["events"] if e["event"] == event]
    assert found, [e["event"] for e in entries["events"]]
    last: dict[str, Any] = found[-1]
    return last


def test_a_birth_date_correction_after_approvals_reissues_and_redispatches(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-C1")
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    journey.decide("household-registration", {"citizen_id": OLD_ID})
    assert journey.request("medical-insurance").state == "dispatched"

    corrected = replace(journey.facts, born_at=BORN_EARLIER)
    journey.send(corrected, "MR-C1-u", "update")

    certificate = journey.request("birth-certificate")
    assert certificate.state == "correction-requested"
    assert dict(certificate.correction_old or {}) == {"born_at": "2026-11-20T08:30:00+08:00"}
    assert dict(certificate.correction_new or {}) == {"born_at": "2026-11-19T23:40:00+08:00"}
    assert certificate.evidence == ("MR-C1-u",)
    asked = history(journey, "birth-certificate", "CorrectionRequested")["data"]
    assert asked["new"] == {"born_at": "2026-11-19T23:40:00+08:00"}
    assert journey.request("household-registration").state == "correction-requested"
    insurance = journey.request("medical-insurance")  # not decided: told the new value
    assert (insurance.state, insurance.payload["born_at"]) == (
        "dispatched",
        corrected.born_at.isoformat(),
    )
    view = journey.family_view()
    assert view["next_action"].startswith("nothing: waiting for office health 430602 by ")
    assert "decide on the correction" in view["next_action"]
    [row] = journey.queue("birth-certificate")
    assert (row["state"], row["due"]) == ("correction-requested", certificate.due)

    reissued = journey.act(
        "birth-certificate", "approve-correction", {"certificate_number": "X430602002"}
    )
    assert reissued.status_code == 200, reissued.json()
    assert reissued.json()["state"] == "approved"
    hukou = journey.request("household-registration")  # the new number joins its request
    assert dict(hukou.correction_new or {}) == {
        "born_at": "2026-11-19T23:40:00+08:00",
        "certificate_number": "X430602002",
    }
    dated_by_the_old_date = journey.act(
        "household-registration", "approve-correction", {"citizen_id": OLD_ID}
    )
    assert dated_by_the_old_date.status_code == 422
    assert dated_by_the_old_date.json()["field"] == "citizen_id"
    accepted = journey.act("household-registration", "approve-correction", {"citizen_id": NEW_ID})
    assert accepted.status_code == 200, accepted.json()

    insurance = journey.request("medical-insurance")
    assert insurance.payload["citizen_id"] == NEW_ID
    assert insurance.payload["born_at"] == corrected.born_at.isoformat()
    assert history(journey, "medical-insurance", "Redispatched")["data"]["changed"] == [
        "citizen_id"
    ]
    shown = {s["service"]: s for s in journey.family_view()["services"]}
    assert shown["birth-certificate"]["result"] == {"certificate_number": "X430602002"}
    assert shown["household-registration"]["result"] == {"citizen_id": NEW_ID}


def test_a_completed_case_is_corrected_and_stays_completed(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-C2")
    complete(journey)
    assert journey.family_view()["state"] == "completed"

    journey.send(replace(journey.facts, birth_weight_g=3400), "MR-C2-u", "update")
    asked = {s: journey.request(s).state for s in journey.plan}
    assert asked["birth-certificate"] == "correction-requested"
    assert asked["vaccination"] == "correction-requested"
    assert asked["household-registration"] == "approved"  # the weight is not its to see
    view = journey.family_view()
    assert view["state"] == "completed"
    assert "decide on the correction" in view["next_action"]
    for service in ("birth-certificate", "vaccination"):
        answer = journey.act(
            service, "approve-correction", dict(journey.request(service).result.to_dict())
        )
        assert answer.status_code == 200, answer.json()
    assert journey.family_view()["next_action"] == "rate: the service"


def test_a_correction_request_rejected_by_the_office(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-C3")
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    journey.send(replace(journey.facts, birth_weight_g=3600), "MR-C3-u", "update")
    assert journey.request("birth-certificate").state == "correction-requested"
    due = date.fromisoformat(journey.request("birth-certificate").due or "")
    container.ledger.clock = lambda: datetime.combine(due + timedelta(days=3), time(10), CST)
    container.watch_deadlines()  # it watches correction requests (and windows' clocks)
    certificate = journey.request("birth-certificate")
    assert f"overdue:{due.isoformat()}" in certificate.warned
    [row] = journey.queue("birth-certificate")
    assert (row["state"], row["overdue"]) == ("correction-requested", True)

    no_reason = journey.act("birth-certificate", "reject-correction", {"reason": " "})
    assert no_reason.status_code == 422
    rejected = journey.act(
        "birth-certificate",
        "reject-correction",
        {"reason": "出生医学证明记载的体重以分娩记录为准 / the delivery record stands"},
    )
    assert rejected.status_code == 200, rejected.json()
    certificate = journey.request("birth-certificate")
    assert certificate.state == "approved"
    assert certificate.result.to_dict() == {"certificate_number": "X430602001"}
    assert certificate.payload["birth_weight_g"] == 3350  # decided on the old value
    again = journey.act("birth-certificate", "reject-correction", {"reason": "again"})
    assert again.status_code == 409
    assert "correction" not in journey.family_view()["next_action"]
    assert journey.queue("birth-certificate") == []  # no longer the office's work


def test_a_void_after_approvals_waits_for_each_revocation(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-V1")
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    journey.decide("household-registration", {"citizen_id": OLD_ID})

    journey.send(journey.facts, "MR-V1-v", "void")
    states = {s: journey.request(s).state for s in journey.plan}
    assert states == {
        "birth-certificate": "revocation-requested",
        "vaccination": "withdrawn",
        "household-registration": "revocation-requested",
        "medical-insurance": "withdrawn",
        "social-security-card": "withdrawn",
    }
    view = journey.family_view()
    assert view["state"] == "voiding"
    due = journey.request("birth-certificate").due
    assert view["next_action"] == (
        f"nothing: voided; waiting for office health 430602 by {due}, "
        f"office public-security 420102 by {due} to revoke their results"
    )
    [row] = journey.queue("household-registration")
    assert row["state"] == "revocation-requested"
    case = container.ledger.get_case(journey.case_id)
    assert case.awaiting_revocation == ("health 430602", "public-security 420102")
    wrong_office = client.post(
        f"/service-requests/{journey.request_id('household-registration')}/revoke",
        json={},
        headers=journey.office("household-registration", "receiving"),
    )
    assert wrong_office.status_code == 404  # the window that received it did not decide

    assert journey.act("birth-certificate", "revoke", {}).status_code == 200
    assert journey.family_view()["state"] == "voiding"
    assert journey.act("household-registration", "revoke", {}).status_code == 200
    view = journey.family_view()
    assert (view["state"], view["next_action"]) == ("voided", "nothing: the case was voided")
    assert journey.queue("household-registration") == []


def test_a_completed_case_can_be_voided_and_every_result_is_revoked(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-V2")
    complete(journey)
    journey.send(journey.facts, "MR-V2-v", "void")
    assert {journey.request(s).state for s in journey.plan} == {"revocation-requested"}
    assert journey.family_view()["state"] == "voiding"
    for service in journey.plan:
        assert journey.act(service, "revoke", {}).status_code == 200
    assert journey.family_view()["state"] == "voided"
    body = orjson.dumps(
        notification_message(replace(journey.facts, birth_weight_g=3400), "MR-V2-u", kind="update")
    )
    late = client.post("/fhir/$process-message", content=body, headers=journey.hospital)
    assert late.status_code == 409


def complete(journey: Journey) -> None:
    results = {
        "birth-certificate": {"certificate_number": "X430602001"},
        "vaccination": {"vaccination_record_number": "VR-430602-0001"},
        "household-registration": {"citizen_id": OLD_ID},
        "medical-insurance": {"enrolment_number": "MI-420102-0001"},
        "social-security-card": {"card_number": "SSC-420102-0001"},
    }
    for service, result in results.items():
        journey.decide(service, result)


def test_a_family_correction_after_a_decision_reaches_the_deciding_office(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-C4")
    family = {"Authorization": f"Bearer {journey.family}"}
    application = {
        "child_name": "王小明",
        "household": "mother",
        "residence_division": "430602",
        "consent": True,
    }
    first = client.post(
        f"/cases/{journey.case_id}/family-application", json=application, headers=family
    )
    assert first.status_code == 200, first.json()
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    assert journey.request("household-registration").state == "dispatched"

    corrected = client.post(
        f"/cases/{journey.case_id}/family-application",
        json={**application, "child_name": "王晓明", "evidence": [{"id": "doc:name-change-0001"}]},
        headers=family,
    )
    assert corrected.status_code == 200, corrected.json()
    certificate = journey.request("birth-certificate")
    assert certificate.state == "correction-requested"
    assert dict(certificate.correction_old or {}) == {"child_name": "王小明"}
    assert dict(certificate.correction_new or {}) == {"child_name": "王晓明"}
    assert certificate.evidence == ("doc:name-change-0001",)
    hukou = journey.request("household-registration")  # not decided: told the new name
    assert (hukou.state, hukou.payload["child_name"]) == ("dispatched", "王晓明")

    reissued = journey.act(
        "birth-certificate", "approve-correction", {"certificate_number": "X430602002"}
    )
    assert reissued.status_code == 200, reissued.json()
    hukou = journey.request("household-registration")
    assert hukou.payload["certificate_number"] == "X430602002"


def test_the_void_and_its_revocation_requests_are_recorded_together(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-V3")
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    container.ledger.void_notification(VoidNotification("MR-V3-v", HOSPITAL, "MR-V3"))
    # before any processing: the case names who must act, and the request is asked already
    case = container.ledger.get_case(journey.case_id)
    assert (case.state, case.awaiting_revocation) == ("voiding", ("health 430602",))
    certificate = journey.request("birth-certificate")
    assert (certificate.state, certificate.due) == ("revocation-requested", case.revocation_due)
    container.after_command()
    assert journey.request("vaccination").state == "withdrawn"
    events = list(container.ledger.events.get(certificate.id))
    assert [type(e).__name__ for e in events].count("RevocationRequested") == 1


def test_a_void_reaches_a_resubmitted_request_s_office(
    client: TestClient, container: Container
) -> None:
    """The office that approved a resubmission (the service's latest attempt) is the one asked
    to revoke; the void ends once it has."""
    journey = Journey(client, container, "MR-V4")
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    hukou = journey.request_id("household-registration")
    receiving = journey.office("household-registration", "receiving")
    step(client, hukou, "receive", receiving, {"receipt_number": "R-1"})
    reason = {"reason": "户籍信息不符", "basis": "户口登记条例第七条"}
    step(client, hukou, "reject", journey.office("household-registration"), reason)
    family = {"Authorization": f"Bearer {journey.family}"}
    step(client, hukou, "resubmit", family, {})
    latest = container.ledger.latest_request(journey.case_id, "household-registration")
    assert latest.id != UUID(hukou)
    step(client, str(latest.id), "receive", receiving, {"receipt_number": "R-2"})
    handling = journey.office("household-registration")
    step(client, str(latest.id), "approve", handling, {"citizen_id": OLD_ID})

    journey.send(journey.facts, "MR-V4-v", "void")
    latest = container.ledger.latest_request(journey.case_id, "household-registration")
    assert latest.state == "revocation-requested"
    assert journey.request("household-registration").state == "rejected"  # the first attempt
    assert journey.family_view()["state"] == "voiding"
    step(client, str(latest.id), "revoke", handling, {})
    assert journey.act("birth-certificate", "revoke", {}).status_code == 200
    assert journey.family_view()["state"] == "voided"
