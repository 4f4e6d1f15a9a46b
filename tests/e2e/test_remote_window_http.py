"""The remote virtual window over HTTP (issue 22): a maternity benefits claim received in
Haiyan (330424) and decided in Jinshan (310116) under the Jinshan-Haiyan-Pinghu agreement:
the receiving clerk books a session, starts it, the handling clerk joins and ends it, then
approves; the history and the handling office's list show it; another office gets 404."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.commands import ApplyAsFamily, NotifyBirth
from domain.kernel.calendar import WorkingCalendar
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.window_values import CST
from tests.conftest import make_facts

HAIYAN, JINSHAN, PINGHU = "330424", "310116", "330482"
MI = "medical-insurance"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.json()
    body: dict[str, Any] = response.json()
    return body


def working_slot(
    days_ahead: int = 1, at: time = time(10, 0), now: datetime | None = None
) -> datetime:
    """The start of a slot on the `days_ahead`th working day from today (China time)."""
    today = (now or datetime.now(CST)).astimezone(CST).date()
    day = WorkingCalendar().add_working_days(today, days_ahead).date
    return datetime.combine(day, at, CST)


def haiyan_case(container: Container, n: int = 0) -> Any:
    """Born in Haiyan to a Haiyan mother insured in Jinshan: maternity benefits are hers to
    claim from Jinshan's agency, at the Haiyan window (`n`: another such case)."""
    facts = make_facts(birth_division=HAIYAN, **({"record_ref": f"MR-{n}"} if n else {}))
    mother = replace(
        facts.mother,
        citizen_id=make_citizen_id(HAIYAN, date(1994, 3, 8), 124 + n),
        hukou_division=HAIYAN,
        residence_division=HAIYAN,
    )
    outcome = container.ledger.notify_birth(
        NotifyBirth(f"m-rw{n or ''}", replace(facts, mother=mother), b"{}")
    )
    container.after_command()
    container.ledger.apply_as_family(
        ApplyAsFamily(
            outcome.case_id,
            "王小明",
            "mother",
            HAIYAN,
            None,
            True,
            mother_insured_division=JINSHAN,
            mother_insured=True,
        )
    )
    container.after_command()
    return outcome.case_id


def test_a_session_booked_held_and_decided(client: TestClient, container: Container) -> None:
    case_id = haiyan_case(container)
    tokens = {
        office: container.actors.add("office", office[0], office[1])[1]
        for office in [(HAIYAN, "health"), (HAIYAN, MI), (JINSHAN, MI), (PINGHU, MI)]
    }
    haiyan, jinshan, pinghu = (bearer(tokens[(p, MI)]) for p in (HAIYAN, JINSHAN, PINGHU))
    admin = bearer(container.actors.add("admin", None)[1])
    services = {
        s["service"]: s for s in ok(client.get(f"/cases/{case_id}", headers=admin))["services"]
    }
    certificate = services["birth-certificate"]["service_request_id"]
    health = bearer(tokens[(HAIYAN, "health")])
    ok(
        client.post(
            f"/service-requests/{certificate}/receive",
            json={"receipt_number": "H-1"},
            headers=health,
        )
    )
    ok(
        client.post(
            f"/service-requests/{certificate}/approve",
            json={"certificate_number": "X330424001"},
            headers=health,
        )
    )
    services = {
        s["service"]: s for s in ok(client.get(f"/cases/{case_id}", headers=admin))["services"]
    }
    claim = services["maternity-benefits"]
    assert (claim["mode"], claim["receiving_locality"], claim["handling_locality"]) == (
        "remote-window",
        HAIYAN,
        JINSHAN,
    )
    request_id = claim["service_request_id"]

    bench = ok(client.get(f"/service-requests/{request_id}", headers=haiyan))
    assert bench["state"] == "dispatched"
    assert bench["next"]["you"] is True
    assert bench["next"]["action"].startswith("book a remote window session with 310116")
    assert bench["remote_window"] == {"sessions": [], "may_book": True}

    start = working_slot()
    booking = {
        "service_request_id": request_id,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=45)).isoformat(),
        "note": "maternity claim: receipts on screen",
    }
    wrong = client.post("/remote-window-sessions", json=booking, headers=jinshan)
    assert (wrong.status_code, wrong.json()["type"].rsplit("/", 1)[-1]) == (409, "wrong-office")
    assert client.post("/remote-window-sessions", json=booking, headers=pinghu).status_code == 404
    past = booking | {"starts_at": (start - timedelta(days=2)).isoformat()}
    refused = client.post("/remote-window-sessions", json=past, headers=haiyan)
    assert refused.status_code == 422
    session = ok(client.post("/remote-window-sessions", json=booking, headers=haiyan), 201)
    assert session["state"] == "booked"
    assert (session["receiving"], session["handling"]) == (
        {"locality": HAIYAN, "authority": MI},
        {"locality": JINSHAN, "authority": MI},
    )
    assert session["next"]["due"] == session["starts_at"]
    again = client.post("/remote-window-sessions", json=booking, headers=haiyan)
    assert again.status_code == 409
    sid = session["session_id"]
    url = f"/remote-window-sessions/{sid}"

    ok(
        client.post(
            f"/service-requests/{request_id}/receive",
            json={"receipt_number": "HY-9"},
            headers=haiyan,
        )
    )
    ok(client.post(f"{url}/join", json={"party": "applicant"}, headers=haiyan))
    started = ok(client.post(f"{url}/start", json={}, headers=haiyan))
    assert started["state"] == "in-progress"
    assert started["next"]["offices"] == [{"locality": JINSHAN, "authority": MI}]
    assert started["next"]["you"] is False
    joined = ok(client.post(f"{url}/join", json={"party": "handling"}, headers=jinshan))
    assert [a["action"] for a in joined["actions"]] == ["end"]
    early = client.post(f"{url}/end", json={}, headers=haiyan)
    assert early.status_code == 409
    assert client.post(f"{url}/end", json={}, headers=pinghu).status_code == 404
    ended = ok(client.post(f"{url}/end", json={"outcome": "receipts checked"}, headers=jinshan))
    assert ended["state"] == "ended"
    assert ended["joined"] == ["applicant", "handling"]
    assert ended["next"]["action"] == "decide the request (approve or reject)"
    assert ended["next"]["you"] is True

    bench = ok(client.get(f"/service-requests/{request_id}", headers=jinshan))
    assert bench["next"]["action"] == "decide"
    assert [s["state"] for s in bench["remote_window"]["sessions"]] == ["ended"]
    assert "Booked" in [
        e["event"] for e in bench["timeline"] if e["stream"].startswith("remote-window")
    ]
    decided = ok(
        client.post(
            f"/service-requests/{request_id}/approve",
            json={"decision_number": "MB-1"},
            headers=jinshan,
        )
    )
    assert decided["state"] == "approved"
    assert ok(client.get(url, headers=jinshan))["next"] is None

    history = ok(client.get(f"/cases/{case_id}/history", headers=jinshan))["events"]
    window = [e for e in history if e["stream"] == "remote-window:maternity-benefits"]
    assert [e["event"] for e in window] == ["Booked", "Joined", "Started", "Joined", "Ended"]
    assert window[0]["data"]["slot"]["starts_at"] == session["starts_at"]
    assert "booked_by" not in window[0]["data"]
    assert window[-1]["data"]["outcome"] == "receipts checked"

    listed = ok(client.get(f"/offices/{JINSHAN}/{MI}/remote-window-sessions", headers=jinshan))
    assert [(r["session_id"], r["side"], r["state"]) for r in listed["rows"]] == [
        (sid, "handling", "ended")
    ]
    live = ok(
        client.get(f"/offices/{HAIYAN}/{MI}/remote-window-sessions?live=true", headers=haiyan)
    )
    assert live["rows"] == []
    assert client.get(url, headers=pinghu).status_code == 404
    missing = client.get(
        "/remote-window-sessions/00000000-0000-4000-8000-000000000000", headers=pinghu
    )
    hidden = client.get(url, headers=pinghu).json()
    assert missing.status_code == 404
    assert {**missing.json(), "instance": ""} == {**hidden, "instance": ""}
    assert (
        client.get(f"/offices/{JINSHAN}/{MI}/remote-window-sessions", headers=pinghu).status_code
        == 404
    )
    assert ok(client.get(url, headers=admin))["booked_by"].startswith("office:")
    figures = container.projections.remote_window_sessions_view.month(
        HAIYAN, start.strftime("%Y-%m")
    )
    assert (figures.held, figures.cancelled) == (1, 0)
    # the monitor: the session once in each place either office is in (Haiyan's county, city
    # and province; Jinshan's), in the month it was held
    _, monitor = container.actors.add("monitor", "national")
    month = start.strftime("%Y-%m")
    for place in (HAIYAN, HAIYAN[:4], HAIYAN[:2], JINSHAN, JINSHAN[:2]):
        path = f"/monitoring/localities/{place}?month={month}"
        answer = client.get(path, headers=bearer(monitor))
        assert answer.status_code == 200, answer.text
        assert answer.json()["remote_window"]["held"] == 1, place


def claim_at_haiyan(
    client: TestClient, container: Container, n: int = 0
) -> tuple[str, dict[str, dict[str, str]]]:
    """A Haiyan case's maternity claim (its birth certificate issued) and the offices'
    headers: Haiyan, Jinshan and Pinghu medical insurance, and an admin."""
    case_id = haiyan_case(container, n)
    tokens = {
        office: container.actors.add("office", office[0], office[1])[1]
        for office in [(HAIYAN, "health"), (HAIYAN, MI), (JINSHAN, MI), (PINGHU, MI)]
    }
    heads = {p: bearer(tokens[(p, MI)]) for p in (HAIYAN, JINSHAN, PINGHU)}
    heads["admin"] = bearer(container.actors.add("admin", None)[1])
    health = bearer(tokens[(HAIYAN, "health")])
    case = ok(client.get(f"/cases/{case_id}", headers=heads["admin"]))
    services = {s["service"]: s["service_request_id"] for s in case["services"]}
    certificate = services["birth-certificate"]
    receipt = {"receipt_number": f"H-{n}"}
    ok(client.post(f"/service-requests/{certificate}/receive", json=receipt, headers=health))
    result = {"certificate_number": f"X33042400{n}"}
    ok(client.post(f"/service-requests/{certificate}/approve", json=result, headers=health))
    case = ok(client.get(f"/cases/{case_id}", headers=heads["admin"]))
    services = {s["service"]: s["service_request_id"] for s in case["services"]}
    return services["maternity-benefits"], heads


def booking_of(request_id: str, start: datetime, minutes: int = 45) -> dict[str, str]:
    ends = start + timedelta(minutes=minutes)
    return {
        "service_request_id": request_id,
        "starts_at": start.isoformat(),
        "ends_at": ends.isoformat(),
    }


def problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.json()
    code: str = response.json()["type"].rsplit("/", 1)[-1]
    return code


def test_a_decided_request_calls_its_booked_session_off(
    client: TestClient, container: Container
) -> None:
    """Review finding 1: after the handling office's decision the booked session is called
    off by the ledger and offers no step; starting it is refused."""
    request_id, heads = claim_at_haiyan(client, container)
    booking = booking_of(request_id, working_slot())
    session = ok(client.post("/remote-window-sessions", json=booking, headers=heads[HAIYAN]), 201)
    url = f"/remote-window-sessions/{session['session_id']}"
    receipt = {"receipt_number": "HY-9"}
    ok(client.post(f"/service-requests/{request_id}/receive", json=receipt, headers=heads[HAIYAN]))
    reason = {"reason": "not insured", "basis": "Art. 1"}
    ok(client.post(f"/service-requests/{request_id}/reject", json=reason, headers=heads[JINSHAN]))
    view = ok(client.get(url, headers=heads[JINSHAN]))
    assert (view["state"], view["next"], view["actions"]) == ("cancelled", None, [])
    assert view["cancel_reason"].startswith("the request left the window")
    assert problem(client.post(f"{url}/start", json={}, headers=heads[HAIYAN]), 409) == (
        "session-state"
    )
    live = f"/offices/{JINSHAN}/{MI}/remote-window-sessions?live=true"
    assert ok(client.get(live, headers=heads[JINSHAN]))["rows"] == []


def test_a_session_ended_before_the_receipt_names_the_receipt_next(
    client: TestClient, container: Container
) -> None:
    """Review finding 2: the handling office decides once the receiving office received."""
    request_id, heads = claim_at_haiyan(client, container)
    booking = booking_of(request_id, working_slot())
    session = ok(client.post("/remote-window-sessions", json=booking, headers=heads[HAIYAN]), 201)
    url = f"/remote-window-sessions/{session['session_id']}"
    ok(client.post(f"{url}/start", json={}, headers=heads[JINSHAN]))
    ended = ok(client.post(f"{url}/end", json={"outcome": "x"}, headers=heads[JINSHAN]))
    assert ended["request_state"] == "dispatched"
    assert ended["next"]["action"].startswith("receive the request")
    assert ended["next"]["offices"] == [{"locality": HAIYAN, "authority": MI}]
    assert ended["next"]["you"] is False
    assert ok(client.get(url, headers=heads[HAIYAN]))["next"]["you"] is True
    early = {"decision_number": "MB-1"}
    approve = client.post(
        f"/service-requests/{request_id}/approve", json=early, headers=heads[JINSHAN]
    )
    assert approve.status_code == 409  # what the session's next said: not yet theirs


def test_one_office_is_not_booked_twice_at_once_nor_out_of_hours(
    client: TestClient, container: Container
) -> None:
    """Review finding 3: an overlapping slot of the same office is refused (409 slot-taken);
    a slot on a rest day or outside 08:30-17:30 China time is invalid (422)."""
    first, heads = claim_at_haiyan(client, container)
    second, _ = claim_at_haiyan(client, container, 1)
    start = working_slot()
    ok(
        client.post(
            "/remote-window-sessions", json=booking_of(first, start), headers=heads[HAIYAN]
        ),
        201,
    )
    overlapping = booking_of(second, start + timedelta(minutes=30))
    taken = client.post("/remote-window-sessions", json=overlapping, headers=heads[HAIYAN])
    assert problem(taken, 409) == "slot-taken"
    evening = booking_of(second, start.replace(hour=17))
    assert problem(
        client.post("/remote-window-sessions", json=evening, headers=heads[HAIYAN]), 422
    ) == ("invalid-session")
    day = start.date()
    while WorkingCalendar().is_working_day(day):
        day += timedelta(days=1)
    rest = booking_of(second, datetime.combine(day, time(10, 0), CST))
    assert problem(
        client.post("/remote-window-sessions", json=rest, headers=heads[HAIYAN]), 422
    ) == ("invalid-session")
    after = booking_of(second, start + timedelta(minutes=45))  # right after the first
    ok(client.post("/remote-window-sessions", json=after, headers=heads[HAIYAN]), 201)


def test_a_booked_session_lapses_and_the_list_pages(
    client: TestClient, container: Container
) -> None:
    """Review finding 4: past its slot's day a booked session is called off (the step is
    refused, the deadline job records it too), another is booked; the office's list filters
    live sessions in the store and pages newest first with a total."""
    first, heads = claim_at_haiyan(client, container)
    second, _ = claim_at_haiyan(client, container, 1)
    start = working_slot()
    one = ok(
        client.post(
            "/remote-window-sessions", json=booking_of(first, start), headers=heads[HAIYAN]
        ),
        201,
    )
    later = booking_of(second, start + timedelta(hours=2))
    two = ok(client.post("/remote-window-sessions", json=later, headers=heads[HAIYAN]), 201)
    listing = f"/offices/{JINSHAN}/{MI}/remote-window-sessions"
    page = ok(client.get(f"{listing}?limit=1", headers=heads[JINSHAN]))
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 0)
    assert [r["session_id"] for r in page["rows"]] == [two["session_id"]]  # newest first
    rest = ok(client.get(f"{listing}?limit=1&offset=1", headers=heads[JINSHAN]))
    assert [r["session_id"] for r in rest["rows"]] == [one["session_id"]]
    soonest = ok(client.get(f"{listing}?live=true", headers=heads[JINSHAN]))
    assert [r["session_id"] for r in soonest["rows"]] == [one["session_id"], two["session_id"]]
    assert problem(client.get(f"{listing}?limit=0x", headers=heads[JINSHAN]), 422) == (
        "invalid-parameter"
    )

    real = container.ledger.clock
    container.ledger.clock = lambda: real() + timedelta(days=40)
    try:
        url = f"/remote-window-sessions/{one['session_id']}"
        stale = ok(client.get(url, headers=heads[HAIYAN]))
        assert stale["actions"] == []
        assert stale["next"]["action"].startswith("book another session")
        refused = client.post(f"{url}/start", json={}, headers=heads[HAIYAN])
        assert problem(refused, 409) == "session-state"
        assert ok(client.get(url, headers=heads[HAIYAN]))["state"] == "cancelled"
        assert container.watch_deadlines() >= 1  # the other one, by the deadline job
        again = booking_of(first, working_slot(now=container.ledger.clock()))
        ok(client.post("/remote-window-sessions", json=again, headers=heads[HAIYAN]), 201)
    finally:
        container.ledger.clock = real
    live = ok(client.get(f"{listing}?live=true", headers=heads[JINSHAN]))
    assert live["total"] == 1
    states = {
        r["session_id"]: r["state"] for r in ok(client.get(listing, headers=heads[JINSHAN]))["rows"]
    }
    assert (states[one["session_id"]], states[two["session_id"]]) == ("cancelled", "cancelled")
