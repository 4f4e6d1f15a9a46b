"""一次性告知 and its clocks over HTTP, on SQLite and PostgreSQL: one notice per reception (a
second only for a fact corrected since the family's answer, with its reason), the receiving
window's own working-day clock from dispatch, deemed acceptance when it lapses (Administrative
Licensing Law Art. 32), provisional due dates shown, maternity benefits planned from the
family application."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.commands import CorrectNotification, NotifyBirth
from domain.kernel.service_request import ServiceRequest
from tests.conftest import make_facts

EVIDENCE = {"id": "doc-7f3a", "sha256": "ab" * 32}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def on(container: Container, day: str) -> None:
    """Today, where offices count working days, is `day` (10:00 China time)."""
    container.ledger.clock = lambda: datetime.fromisoformat(f"{day}T10:00:00+08:00")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def notified(container: Container, record_ref: str = "MR-N1") -> tuple[UUID, str]:
    outcome = container.ledger.notify_birth(NotifyBirth(f"m-{record_ref}", make_facts(record_ref)))
    container.after_command()
    _, family = container.actors.add("family", str(outcome.case_id))
    return outcome.case_id, family


def vaccination_of(client: TestClient, case_id: UUID, token: str) -> dict[str, Any]:
    view = client.get(f"/cases/{case_id}", headers=bearer(token)).json()
    (found,) = [s for s in view["services"] if s["service"] == "vaccination"]
    return dict(found)


def post(client: TestClient, request_id: str, action: str, token: str, body: dict[str, Any]) -> Any:
    return client.post(f"/service-requests/{request_id}/{action}", json=body, headers=bearer(token))


def event_names(container: Container, request_id: str) -> list[str]:
    return [type(e).__name__ for e in container.ledger.events.get(UUID(request_id))]


def test_one_notice_per_reception_and_a_second_only_for_a_new_fact(
    client: TestClient, container: Container
) -> None:
    on(container, "2026-12-07")  # a Monday
    case_id, family = notified(container)
    _, cdc = container.actors.add("office", "430602", "cdc")
    vaccination = vaccination_of(client, case_id, family)
    request_id = vaccination["service_request_id"]
    assert (vaccination["state"], vaccination["due"]) == ("dispatched", "2026-12-14")
    assert vaccination["due_provisional"] is False

    items = ["预防接种证", "监护人身份证明"]
    notice = post(client, request_id, "request-supplement", cdc, {"items": items})
    assert notice.status_code == 200, notice.json()  # at the window, before acceptance
    again = post(client, request_id, "request-supplement", cdc, {"items": ["户口簿"]})
    assert again.status_code == 409  # the family has not answered: nothing new to ask

    on(container, "2026-12-09")
    answer = post(
        client, request_id, "supplement", family, {"items": items, "evidence": [EVIDENCE]}
    )
    assert answer.status_code == 200, answer.json()
    # the window's clock starts again from the answer: it accepts (or not) by then
    assert (answer.json()["state"], answer.json()["due"]) == ("dispatched", "2026-12-16")
    (supplemented,) = [
        e
        for e in container.ledger.events.get(UUID(request_id))
        if isinstance(e, ServiceRequest.Supplemented)
    ]
    assert supplemented.evidence == [EVIDENCE]
    # the office that asked reads the evidence the family cited, in its request's history
    history = client.get(f"/cases/{case_id}/history", headers=bearer(cdc)).json()["events"]
    (answered_entry,) = [e for e in history if e["event"] == "Supplemented"]
    assert answered_entry["data"]["evidence"] == [EVIDENCE]

    second = post(client, request_id, "request-supplement", cdc, {"items": ["户口簿"]})
    assert second.status_code == 409
    assert second.headers["content-type"].startswith("application/problem+json")
    assert second.json()["type"] == "/problems/one-time-notice", second.json()

    corrected = replace(make_facts("MR-N1"), birth_weight_g=3150)  # a fact the office holds
    container.ledger.correct_notification(CorrectNotification("m-MR-N1-2", corrected))
    container.after_command()
    no_reason = post(client, request_id, "request-supplement", cdc, {"items": ["体重复核记录"]})
    assert no_reason.status_code == 409
    assert (no_reason.json()["type"], no_reason.json()["field"]) == (
        "/problems/one-time-notice",
        "reason",
    )
    reason = "出生体重经医院更正 需复核接种禁忌"
    body = {"items": ["体重复核记录"], "reason": reason}
    accepted = post(client, request_id, "request-supplement", cdc, body)
    assert accepted.status_code == 200, accepted.json()
    notices = [
        e
        for e in container.ledger.events.get(UUID(request_id))
        if isinstance(e, ServiceRequest.SupplementRequested)
    ]
    assert [(n.reason, n.new_facts) for n in notices] == [("", []), (reason, ["birth_weight_g"])]
    assert vaccination_of(client, case_id, family)["awaiting"] == ["体重复核记录"]

    answered = post(client, request_id, "supplement", family, {"items": ["体重复核记录"]})
    assert answered.status_code == 200, answered.json()
    assert post(client, request_id, "receive", cdc, {"receipt_number": "R-1"}).status_code == 200
    third = post(
        client, request_id, "request-supplement", cdc, {"items": ["户口簿"], "reason": "x"}
    )
    assert third.json()["type"] == "/problems/one-time-notice"  # no fact new since the last answer
    approve = post(client, request_id, "approve", cdc, {"vaccination_record_number": "VR-1"})
    assert approve.status_code == 200, approve.json()


def test_the_window_that_neither_accepts_nor_notifies_is_deemed_to_accept(
    client: TestClient, container: Container
) -> None:
    on(container, "2026-12-07")
    case_id, family = notified(container)
    _, cdc = container.actors.add("office", "430602", "cdc")
    request_id = vaccination_of(client, case_id, family)["service_request_id"]

    def queue_row() -> dict[str, Any]:
        page = client.get("/offices/430602/cdc/queue", headers=bearer(cdc)).json()
        (row,) = [r for r in page["rows"] if r["service_request_id"] == request_id]
        return dict(row)

    assert queue_row() | {"due_soon": None} == queue_row() | {
        "state": "dispatched",
        "due": "2026-12-14",
        "due_provisional": False,
        "overdue": False,
        "due_soon": None,
    }
    on(container, "2026-12-10")
    container.watch_deadlines()
    assert queue_row()["due_soon"] is False  # two working days left
    on(container, "2026-12-11")  # Friday: one working day left at the window
    assert container.watch_deadlines() >= 1
    assert queue_row()["due_soon"] is True
    assert "DeadlineApproaching" in event_names(container, request_id)

    on(container, "2026-12-15")  # past the window's 5 working days: no notice came
    assert container.watch_deadlines() >= 1
    deemed = [
        e
        for e in container.ledger.events.get(UUID(request_id))
        if isinstance(e, ServiceRequest.DeemedAccepted)
    ]
    # accepted from the day the materials arrived: the office's 20 working days count from
    # it, into 2027, whose holidays are not published yet
    assert [(e.since, e.due, e.provisional) for e in deemed] == [("2026-12-07", "2027-01-04", True)]
    row = queue_row()
    assert (row["state"], row["due"], row["due_soon"]) == ("received", "2027-01-04", False)
    assert row["due_provisional"] is True
    family_view = vaccination_of(client, case_id, family)
    assert (family_view["state"], family_view["due"]) == ("received", "2027-01-04")
    assert family_view["due_provisional"] is True

    late = post(client, request_id, "request-supplement", cdc, {"items": ["预防接种证"]})
    assert late.status_code == 409
    assert late.json()["type"] == "/problems/deemed-accepted"
    on(container, "2027-01-05")
    assert container.watch_deadlines() >= 1
    assert queue_row()["overdue"] is True  # the handling office's own clock, as ever
    approve = post(client, request_id, "approve", cdc, {"vaccination_record_number": "VR-2"})
    assert approve.status_code == 200, approve.json()


def test_a_due_date_in_a_year_without_published_holidays_is_shown_provisional(
    client: TestClient, container: Container
) -> None:
    on(container, "2026-12-28")  # 5 working days run into 2027, not published yet
    case_id, family = notified(container, "MR-P1")
    _, cdc = container.actors.add("office", "430602", "cdc")
    family_view = vaccination_of(client, case_id, family)
    assert (family_view["due"], family_view["due_provisional"]) == ("2027-01-04", True)
    page = client.get("/offices/430602/cdc/queue", headers=bearer(cdc)).json()
    (row,) = [r for r in page["rows"] if r["service"] == "vaccination"]
    assert (row["due"], row["due_provisional"]) == ("2027-01-04", True)


def test_maternity_benefits_are_planned_where_the_mother_is_insured(
    client: TestClient, container: Container
) -> None:
    case_id, family = notified(container, "MR-M1")
    application = {
        "child_name": "王小明",
        "household": "mother",
        "residence_division": "430602",
        "consent": True,
    }
    path = f"/cases/{case_id}/family-application"
    unnamed = {**application, "mother_insured": True}
    refused = client.post(path, json=unnamed, headers=bearer(family))
    assert refused.status_code == 422
    assert refused.json()["field"] == "mother_insured_division"

    insured = {**application, "mother_insured_division": "420102", "mother_insured": True}
    applied = client.post(path, json=insured, headers=bearer(family))
    assert applied.status_code == 200, applied.json()
    container.after_command()
    _, admin = container.actors.add("admin", None)
    view = client.get(f"/cases/{case_id}", headers=bearer(admin)).json()
    services = {s["service"]: s for s in view["services"]}
    maternity = services["maternity-benefits"]
    assert (maternity["handling_locality"], maternity["state"]) == ("420102", "planned")
    recorded = container.ledger.get_case(case_id).application
    assert recorded is not None
    assert recorded.mother_insured_division == "420102"


def test_no_maternity_benefits_when_the_mother_is_not_insured_there(
    client: TestClient, container: Container
) -> None:
    case_id, family = notified(container, "MR-M2")
    application = {
        "child_name": "王小明",
        "household": "mother",
        "residence_division": "430602",
        "consent": True,
        "mother_insured_division": "420102",
        "mother_insured": False,
    }
    path = f"/cases/{case_id}/family-application"
    assert client.post(path, json=application, headers=bearer(family)).status_code == 200
    container.after_command()
    view = client.get(f"/cases/{case_id}", headers=bearer(family)).json()
    assert "maternity-benefits" not in {s["service"] for s in view["services"]}


def test_twins_are_linked_as_one_delivery_in_each_view_as_far_as_it_may_see(
    client: TestClient, container: Container
) -> None:
    twins = {"delivery_ref": "D-2026-1207-0042", "multiple_birth": 3}
    ids = []
    for ref, home in (("MR-T1", "430602"), ("MR-T2", "430602"), ("MR-T3", "430611")):
        # the third's vaccination is at another county (a synthetic case for the scope rule)
        facts = make_facts(ref, **twins)
        facts = replace(facts, mother=replace(facts.mother, residence_division=home))
        ids.append(str(container.ledger.notify_birth(NotifyBirth(f"m-{ref}", facts)).case_id))
        container.after_command()
    first, second, third = ids
    _, hospital = container.actors.add("hospital", make_facts().facility_uscc)
    _, family = container.actors.add("family", first)
    _, cdc = container.actors.add("office", "430602", "cdc")

    def delivery(token: str) -> dict[str, Any]:
        view = client.get(f"/cases/{first}", headers=bearer(token))
        assert view.status_code == 200, view.json()
        found: dict[str, Any] = view.json()["delivery"]
        return found

    assert delivery(hospital) == {
        "multiple_birth": 3,
        "siblings": [
            {"case_id": c, "hospital_ref": r}
            for c, r in sorted(zip((second, third), ("MR-T2", "MR-T3"), strict=True))
        ],
    }
    assert delivery(family) == {
        "multiple_birth": 3,
        "siblings": [{"case_id": c} for c in sorted((second, third))],
    }
    assert delivery(cdc) == {  # the office sees the sibling it works on, not the other
        "multiple_birth": 3,
        "siblings": [{"case_id": second, "services": ["vaccination"]}],
    }
    single = client.get(f"/cases/{notified(container, 'MR-S1')[0]}", headers=bearer(hospital))
    assert "delivery" not in single.json()


def test_a_notice_the_family_never_answers_is_deemed_withdrawn_and_stays_theirs(
    client: TestClient, container: Container
) -> None:
    """The notice gives the family its window (20 working days); the family's view names the
    family and that date; past it the deadline job records the application as withdrawn, a
    rejection the family may still resubmit (or close the case) within its own window."""
    on(container, "2026-12-07")  # a Monday
    case_id, family = notified(container, "MR-N9")
    _, cdc = container.actors.add("office", "430602", "cdc")
    request_id = vaccination_of(client, case_id, family)["service_request_id"]
    notice = post(client, request_id, "request-supplement", cdc, {"items": ["预防接种证"]})
    assert notice.status_code == 200, notice.json()
    shown = vaccination_of(client, case_id, family)
    # 20 working days; 2027's holidays are not published yet: only weekends skipped
    assert (shown["state"], shown["due"]) == ("supplement-requested", "2027-01-04")
    assert shown["due_provisional"] is True
    view = client.get(f"/cases/{case_id}", headers=bearer(family)).json()
    (owed,) = [w for w in view["waiting_on"] if w["service"] == "vaccination"]
    assert (owed["party"], owed["action"], owed["due"]) == ("family", "supplement", "2027-01-04")

    on(container, "2027-01-01")  # one working day left: warned, still the family's
    container.projections.catch_up()
    assert container.watch_deadlines() >= 1
    assert vaccination_of(client, case_id, family)["state"] == "supplement-requested"
    on(container, "2027-01-05")
    container.projections.catch_up()
    assert container.watch_deadlines() >= 1
    container.after_command()
    lapsed = vaccination_of(client, case_id, family)
    assert lapsed["state"] == "rejected"
    assert "视为撤回申请" in lapsed["rejection"]["reason"]
    assert "Art. 32" in lapsed["rejection"]["basis"]
    rejected = [
        e
        for e in container.ledger.events.get(UUID(request_id))
        if isinstance(e, ServiceRequest.Rejected)
    ]
    assert [e.officer for e in rejected] == ["deadline"]
    view = client.get(f"/cases/{case_id}", headers=bearer(family)).json()
    (owed,) = [w for w in view["waiting_on"] if w["service"] == "vaccination"]
    assert (owed["party"], owed["due"]) == ("family", lapsed["rejection"]["due"])
    resubmitted = post(client, request_id, "resubmit", family, {})
    assert resubmitted.status_code == 200, resubmitted.json()
    assert resubmitted.json()["state"] in ("planned", "dispatched")


def test_a_single_birth_links_to_no_delivery(client: TestClient, container: Container) -> None:
    """Hospitals name every delivery; only a multiple birth's children (multipleBirthInteger)
    are linked, so a single child's family read stays one document."""
    facts = make_facts("MR-ONE", delivery_ref="D-2026-1207-0001")
    outcome = container.ledger.notify_birth(NotifyBirth("m-MR-ONE", facts))
    container.after_command()
    _, family = container.actors.add("family", str(outcome.case_id))
    view = client.get(f"/cases/{outcome.case_id}", headers=bearer(family)).json()
    assert "delivery" not in view
    assert container.projections.case_status_view.same_delivery(outcome.case_id) is None
