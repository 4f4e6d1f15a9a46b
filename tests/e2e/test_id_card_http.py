"""Issue 22's ID card journey over HTTP, on SQLite and PostgreSQL: an applicant with a Wuhan
hukou applies at a Jiaxing police window; the Wuhan police decide and make the card, it
travels back to the Jiaxing window, arrives and is collected; a temporary card is issued at
the window meanwhile. The Wuhan office's clock ends when it approves the card: the journey
and the collection are the delivery step's, with due dates of their own."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.kernel.calendar import WorkingCalendar
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest

JIAXING, WUHAN, SHANGHAI = "330402", "420102", "310101"  # 南湖区, 江岸区, 黄浦区
APPLICANT_ID = make_citizen_id(WUHAN, date(1994, 3, 8), 13)
PS = "public-security"
START = date(2026, 3, 2)  # a Monday
APPLICATION = {
    "name": "李雷",
    "citizen_id": APPLICANT_ID,
    "phone": "13912345678",
    "hukou_division": WUHAN,
    "reason": "replacement",
    "identity_document": "household-register",
    "temporary_id_card": True,
}


def working_day(n: int) -> date:
    return WorkingCalendar().add_working_days(START, n).date if n else START


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def on(container: Container, day: date) -> None:
    """The ledger's clock on `day` (10:00 China time)."""
    moment = datetime.combine(day, time(2, 0), UTC)
    container.ledger.clock = lambda: moment


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def step(client: TestClient, token: str, request_id: str, action: str, body: Any) -> None:
    answer = client.post(
        f"/service-requests/{request_id}/{action}", json=body, headers=bearer(token)
    )
    assert answer.status_code == 200, answer.text


def view(client: TestClient, token: str, case_id: str) -> dict[str, Any]:
    answer = client.get(f"/id-card-applications/{case_id}", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def steps(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["service"]: s for s in found["steps"]}


def test_an_id_card_applied_for_in_jiaxing_is_made_in_wuhan_and_collected(
    container: Container, client: TestClient
) -> None:
    _, jiaxing = container.actors.add("office", JIAXING, PS)
    _, wuhan = container.actors.add("office", WUHAN, PS)
    _, shanghai = container.actors.add("office", SHANGHAI, PS)
    _, admin = container.actors.add("admin", "*")
    on(container, START)

    opened = client.post("/id-card-applications", json=APPLICATION, headers=bearer(jiaxing))
    assert opened.status_code == 201, opened.text
    case_id, tracking = opened.json()["case_id"], opened.json()["tracking_code"]
    assert len(tracking) == 12
    container.after_command()

    whole = view(client, admin, case_id)
    assert whole["identity_check"] == whole["identity_check"] | {
        "method": "window",
        "document": "household-register",
        "office": f"{JIAXING}:{PS}",
    }
    plan = steps(whole)
    production, delivery, temporary = (
        plan["id-card-production"],
        plan["id-card-delivery"],
        plan["temporary-id-card"],
    )
    assert (production["handling"]["locality"], production["receiving"]["locality"]) == (
        WUHAN,
        JIAXING,
    )
    assert production["mode"] == "off-site"  # on the national list since 2022-10-31
    assert production["state"] == "dispatched"
    assert production["next"]["locality"] == JIAXING  # the window accepts first
    assert delivery["state"] == "planned"  # waits for the card
    assert (delivery["handling"]["locality"], delivery["mode"]) == (JIAXING, "online")
    assert temporary["state"] == "dispatched"
    assert whole["card"]["where"] == "being-decided"
    assert whole["temporary_card"] == {"asked": True, "state": "dispatched", "issued": False}

    # the Jiaxing window accepts (受理): the Wuhan office's clock starts, 30 working days
    step(client, jiaxing, production["service_request_id"], "receive", {"receipt_number": "JX-1"})
    production_due = working_day(30).isoformat()
    assert steps(view(client, wuhan, case_id))["id-card-production"]["due"] == production_due

    # Wuhan sees only its step, with the fields it needs to decide, and no one else's data
    seen = view(client, wuhan, case_id)
    assert [s["service"] for s in seen["steps"]] == ["id-card-production"]
    assert seen["steps"][0]["fields"] == {
        "applicant.name": "李雷",
        "applicant.citizen_id": APPLICANT_ID,
        "hukou_division": WUHAN,
        "applying_division": JIAXING,
        "reason": "replacement",
    }
    assert "tracking_code" not in seen
    assert "applicant" not in seen
    assert seen["steps"][0]["next"] == seen["steps"][0]["next"] | {"locality": WUHAN, "you": True}
    # an office no step is routed to sees nothing, exactly as for a missing case
    stranger = client.get(f"/id-card-applications/{case_id}", headers=bearer(shanghai))
    missing = client.get(
        f"/id-card-applications/{'0' * 8}-0000-0000-0000-{'0' * 12}", headers=bearer(shanghai)
    )
    assert stranger.status_code == missing.status_code == 404
    assert stranger.json()["type"] == missing.json()["type"]

    # the temporary card: the Jiaxing window issues it within three working days
    temporary_id = temporary["service_request_id"]
    step(client, jiaxing, temporary_id, "receive", {"receipt_number": "JX-T1"})
    step(client, jiaxing, temporary_id, "approve", {"temporary_id_card_record": "LS330402-0001"})
    container.after_command()

    # ten working days later Wuhan approves the card it made, with the card's record
    on(container, working_day(10))
    production_id = production["service_request_id"]
    wrong = client.post(
        f"/service-requests/{production_id}/approve",
        json={"id_card_record": f"{APPLICANT_ID}/{working_day(10):%Y%m%d}-20360316"},
        headers=bearer(wuhan),
    )
    assert wrong.status_code == 422  # a 32-year-old's card is valid 20 years (Art. 5)
    start = working_day(10)
    record = f"{APPLICANT_ID}/{start:%Y%m%d}-{start.replace(year=start.year + 20):%Y%m%d}"
    step(client, wuhan, production_id, "approve", {"id_card_record": record})
    container.after_command()
    sent = view(client, jiaxing, case_id)
    assert sent["card"]["where"] == "in-transit"
    assert sent["card"]["sent_on"] == start.isoformat()
    delivery_step = steps(sent)["id-card-delivery"]
    assert delivery_step["fields"] == {
        "id_card_record": record,
        "applicant.name": "李雷",
        "applicant.phone": "13912345678",
    }  # the window hands the card over: no hukou, no reason
    # the card's journey has its own limit (the catalog's arrival limit: 10 working days)
    assert delivery_step["due"] == WorkingCalendar().add_working_days(start, 10).date.isoformat()

    # the card arrives four working days later: the window's own clock, not Wuhan's
    arrival = working_day(14)
    on(container, arrival)
    delivery_id = delivery_step["service_request_id"]
    step(client, jiaxing, delivery_id, "receive", {"receipt_number": "JX-ARR-7"})
    arrived = view(client, admin, case_id)
    assert arrived["card"]["where"] == "arrived"
    arrived_steps = steps(arrived)
    assert arrived_steps["id-card-delivery"]["due"] == (
        WorkingCalendar().add_working_days(arrival, 10).date.isoformat()
    )
    # the Wuhan office's step ended with its approval: its due date is the one set at the
    # window's receipt, and the journey and collection are counted on the delivery step
    assert arrived_steps["id-card-production"]["due"] == production_due
    assert arrived_steps["id-card-production"]["state"] == "approved"
    assert arrived_steps["id-card-production"]["next"] is None
    queues = {
        office: client.get(f"/offices/{office}/{PS}/queue", headers=bearer(token)).json()
        for office, token in ((WUHAN, wuhan), (JIAXING, jiaxing))
    }
    held = {
        office: {r["service"] for r in queue["rows"] if r["case_id"] == case_id}
        for office, queue in queues.items()
    }
    assert held == {WUHAN: set(), JIAXING: {"id-card-delivery"}}  # Wuhan holds nothing now

    # the applicant signs in at /track (tracking code + last 6 of the citizen ID) and sees
    # where the card is
    wrong = client.post("/track", json={"tracking_code": tracking, "verifier": "000000"})
    assert wrong.status_code == 404
    signed = client.post("/track", json={"tracking_code": tracking, "verifier": APPLICANT_ID[-6:]})
    assert signed.status_code == 201, signed.text
    family = signed.json()["token"]
    mine = view(client, family, case_id)
    assert mine["card"]["where"] == "arrived"
    assert mine["card"]["collect_at"] == {"authority": PS, "locality": JIAXING}
    assert mine["tracking_code"] == tracking
    assert steps(mine)["id-card-delivery"]["next"]["action"].startswith("hand the card over")

    # the card's e-certificate: type resident-id-card, a minimal subject, verifiable
    listed = client.get(f"/cases/{case_id}/certificates", headers=bearer(family))
    assert listed.status_code == 200, listed.text
    [certificate] = [
        c for c in listed.json()["certificates"] if c["certificate_type"] == "resident-id-card"
    ]
    assert certificate["claims"]["subject"] == {"name": "李雷", "birth_date": "1994-03-08"}
    # it certifies the card's validity, never the holder's citizen ID (claims, QR, /verify)
    validity = record.rpartition("/")[2]
    assert certificate["claims"]["result"] == {"field": "id_card_record", "value": validity}
    signed_claims = certificate["certificate"].split(".")[1]
    decoded = base64.urlsafe_b64decode(signed_claims + "=" * (-len(signed_claims) % 4))
    assert APPLICANT_ID.encode() not in decoded
    verified = client.post("/verify", json={"certificate": certificate["certificate"]})
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "valid"
    assert APPLICANT_ID not in verified.text

    # collected: the window records the collection receipt
    on(container, working_day(15))
    step(client, jiaxing, delivery_id, "approve", {"collection_receipt": "JX-LQ-2026-0007"})
    container.after_command()
    done = view(client, admin, case_id)
    assert done["card"]["where"] == "collected"
    assert done["state"] == "completed"
    assert done["temporary_card"]["issued"] is True
    assert all(not parked for parked in container.parked().values())


def test_every_problem_of_an_application_at_once(container: Container, client: TestClient) -> None:
    _, jiaxing = container.actors.add("office", JIAXING, PS)
    body = APPLICATION | {
        "citizen_id": APPLICANT_ID[:-1] + ("0" if APPLICANT_ID[-1] != "0" else "1"),
        "phone": "12345",
        "reason": "lost",
    }
    del body["hukou_division"]
    answer = client.post(
        "/id-card-applications",
        json=body,
        headers=bearer(jiaxing) | {"Accept-Language": "zh-CN"},
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    pointers = [e["pointer"] for e in problem["errors"]]
    assert pointers == ["/hukou_division", "/citizen_id", "/phone", "/reason"]


def test_only_a_public_security_window_opens_a_case(
    container: Container, client: TestClient
) -> None:
    _, health = container.actors.add("office", JIAXING, "health")
    answer = client.post("/id-card-applications", json=APPLICATION, headers=bearer(health))
    assert answer.status_code == 404


def test_a_card_late_in_transit_is_overdue_never_deemed_accepted(
    container: Container, client: TestClient
) -> None:
    """Past the delivery's arrival limit the card is late: the deadline job records the
    delivery overdue (the window chases it), where an application at a window would have
    been deemed accepted (Art. 32): nothing was applied for at the window, a card is due."""
    _, jiaxing = container.actors.add("office", JIAXING, PS)
    _, wuhan = container.actors.add("office", WUHAN, PS)
    _, admin = container.actors.add("admin", "*")
    on(container, START)
    opened = client.post("/id-card-applications", json=APPLICATION, headers=bearer(jiaxing))
    case_id = opened.json()["case_id"]
    container.after_command()
    production_id = steps(view(client, admin, case_id))["id-card-production"]["service_request_id"]
    step(client, jiaxing, production_id, "receive", {"receipt_number": "JX-2"})
    record = f"{APPLICANT_ID}/{START:%Y%m%d}-{START.replace(year=START.year + 20):%Y%m%d}"
    step(client, wuhan, production_id, "approve", {"id_card_record": record})
    container.after_command()
    delivery = steps(view(client, admin, case_id))["id-card-delivery"]
    assert delivery["state"] == "dispatched"
    on(container, working_day(11))  # the day after the arrival limit
    container.watch_deadlines()
    request = container.ledger.get_request(UUID(delivery["service_request_id"]))
    assert request.state == "dispatched"  # still waiting for the card: not deemed accepted
    assert f"overdue:{delivery['due']}" in request.warned
    assert steps(view(client, admin, case_id))["id-card-delivery"]["state"] == "dispatched"


def test_a_window_in_the_hukou_province_receives_the_application(
    container: Container, client: TestClient
) -> None:
    """Any police window receives an ID card application: a Jiaxing window for a Hangzhou
    hukou (the same province) receives it off-site and Hangzhou decides, as across provinces
    (the catalog's any_window), instead of sending the applicant to Hangzhou."""
    _, jiaxing = container.actors.add("office", JIAXING, PS)
    _, admin = container.actors.add("admin", "*")
    on(container, START)
    hangzhou = "330106"  # 西湖区
    applicant = {**APPLICATION, "hukou_division": hangzhou,
                 "citizen_id": make_citizen_id(hangzhou, date(1990, 6, 1), 21)}  # fmt: skip
    opened = client.post("/id-card-applications", json=applicant, headers=bearer(jiaxing))
    assert opened.status_code == 201, opened.text
    container.after_command()
    production = steps(view(client, admin, opened.json()["case_id"]))["id-card-production"]
    assert (production["handling"]["locality"], production["receiving"]["locality"]) == (
        hangzhou,
        JIAXING,
    )
    assert production["mode"] == "off-site"
    assert production["next"]["locality"] == JIAXING  # the window accepts first


def refused_card(container: Container, client: TestClient) -> tuple[str, str, str]:
    """A case whose card Wuhan refused: its id, the applicant's family token and Wuhan's."""
    _, jiaxing = container.actors.add("office", JIAXING, PS)
    _, wuhan = container.actors.add("office", WUHAN, PS)
    on(container, START)
    body = APPLICATION | {"temporary_id_card": False}
    opened = client.post("/id-card-applications", json=body, headers=bearer(jiaxing))
    assert opened.status_code == 201, opened.text
    case_id, tracking = opened.json()["case_id"], opened.json()["tracking_code"]
    container.after_command()
    production_id = steps(view(client, wuhan, case_id))["id-card-production"]["service_request_id"]
    step(client, jiaxing, production_id, "receive", {"receipt_number": "JX-3"})
    refusal = {"reason": "相片不合格", "basis": "居民身份证法 第八条"}
    step(client, wuhan, production_id, "reject", refusal)
    container.after_command()
    signed = client.post("/track", json={"tracking_code": tracking, "verifier": APPLICANT_ID[-6:]})
    assert signed.status_code == 201, signed.text
    return case_id, signed.json()["token"], wuhan


def test_a_refused_card_names_the_applicant_and_a_closed_case_nobody(
    container: Container, client: TestClient
) -> None:
    """Review findings 1, 4 and 5: the delivery held behind the refused card names the
    applicant (not an office); the case has a top-level `next`; closing answers 200 with
    the ID card case, and then nobody is named."""
    case_id, family, _ = refused_card(container, client)
    mine = view(client, family, case_id)
    refused = steps(mine)["id-card-production"]["next"]
    assert refused["party"] == "applicant"
    assert steps(mine)["id-card-delivery"]["next"] == {
        "party": "applicant",
        "action": "resubmit the refused id-card-production or close the case",
        "due": refused["due"],
    }
    assert mine["next"] == refused
    closed = client.post(
        f"/cases/{case_id}/close", json={"reason": "不办了"}, headers=bearer(family)
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["kind"], closed.json()["state"]) == ("id-card", "closed")
    container.after_command()
    after = view(client, family, case_id)
    assert after["next"] is None
    assert {s["next"] is None for s in after["steps"]} == {True}


def test_a_new_card_attempt_holds_the_delivery_behind_the_office(
    container: Container, client: TestClient
) -> None:
    """Review finding 4: once the applicant resubmits, the delivery waits for the new
    attempt, and the case's `next` names the window that accepts it."""
    case_id, family, _ = refused_card(container, client)
    production_id = steps(view(client, family, case_id))["id-card-production"]["service_request_id"]
    again = client.post(
        f"/service-requests/{production_id}/resubmit", json={}, headers=bearer(family)
    )
    assert again.status_code == 200, again.text
    container.after_command()
    mine = view(client, family, case_id)
    assert steps(mine)["id-card-delivery"]["next"]["party"] == "ledger"
    assert "attempt 2" in steps(mine)["id-card-delivery"]["next"]["action"]
    assert mine["next"]["party"] == "office"
    assert mine["next"]["locality"] == JIAXING


def test_a_card_lost_in_transit_is_reported_to_the_hukou_office(
    container: Container, client: TestClient
) -> None:
    """Review finding 6: past the arrival limit the window cannot record an arrival; `next`
    names its truthful step (report the card missing to the hukou office, which traces it
    or makes it again) and the office to chase; the card arrives later and is collected."""
    _, jiaxing = container.actors.add("office", JIAXING, PS)
    _, wuhan = container.actors.add("office", WUHAN, PS)
    on(container, START)
    opened = client.post(
        "/id-card-applications", json=APPLICATION | {"temporary_id_card": False},
        headers=bearer(jiaxing),
    )  # fmt: skip
    case_id = opened.json()["case_id"]
    container.after_command()
    production_id = steps(view(client, wuhan, case_id))["id-card-production"]["service_request_id"]
    step(client, jiaxing, production_id, "receive", {"receipt_number": "JX-4"})
    record = f"{APPLICANT_ID}/{START:%Y%m%d}-{START.replace(year=START.year + 20):%Y%m%d}"
    step(client, wuhan, production_id, "approve", {"id_card_record": record})
    container.after_command()
    in_transit = steps(view(client, jiaxing, case_id))["id-card-delivery"]
    assert in_transit["next"]["action"].startswith("record the card's arrival")
    on(container, working_day(11))  # the day after the arrival limit
    container.watch_deadlines()
    late = view(client, jiaxing, case_id)
    assert late["card"]["where"] == "overdue-in-transit"
    lost = steps(late)["id-card-delivery"]["next"]
    assert lost["locality"] == JIAXING
    assert lost["you"] is True
    assert lost["action"].startswith(f"report the card missing to the hukou office ({WUHAN})")
    assert lost["chase"] == {"authority": PS, "locality": WUHAN}
    assert lost["late_since"] == in_transit["due"]
    assert late["next"] == lost
    # the card made again arrives: the window records it, then hands it over
    step(client, jiaxing, in_transit["service_request_id"], "receive", {"receipt_number": "JX-5"})
    assert view(client, jiaxing, case_id)["card"]["where"] == "arrived"


def test_an_unknown_field_is_named_with_every_other_problem(
    container: Container, client: TestClient
) -> None:
    """Review finding 8: an unknown field no longer hides the other problems."""
    _, jiaxing = container.actors.add("office", JIAXING, PS)
    body = APPLICATION | {"extra": 1, "citizen_id": "123"}
    answer = client.post("/id-card-applications", json=body, headers=bearer(jiaxing))
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"].endswith("/invalid-application")
    assert sorted(e["pointer"] for e in answer.json()["errors"]) == ["/citizen_id", "/extra"]


def test_the_workbench_names_what_a_blocked_step_waits_on_and_who_acts_on_a_refusal(
    container: Container, client: TestClient
) -> None:
    """The clerk's workbench (GET /service-requests/{id}) agrees with the wing's view: the
    delivery held behind the refused card waits on the card's production, no office is told
    to decide it; the refusal itself is the applicant's to resubmit or close."""
    case_id, _, wuhan = refused_card(container, client)
    _, jiaxing = container.actors.add("office", JIAXING, PS)
    delivery = str(ServiceRequest.create_id(UUID(case_id), "id-card-delivery"))
    production = str(ServiceRequest.create_id(UUID(case_id), "id-card-production"))
    blocked = client.get(f"/service-requests/{delivery}", headers=bearer(jiaxing))
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["state"] == "blocked"
    assert blocked.json()["next"] == {"waits_on": "id-card-production"}
    refused = client.get(f"/service-requests/{production}", headers=bearer(wuhan)).json()
    assert (refused["next"]["party"], refused["next"]["action"]) == (
        "family",
        "resubmit, close the case or seek a remedy",
    )
