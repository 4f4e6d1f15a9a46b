"""The remote virtual window over HTTP (issue 22): a maternity benefits claim received in
Haiyan (330424) and decided in Jinshan (310116) under the Jinshan-Haiyan-Pinghu agreement:
the receiving clerk books a session, starts it, the handling clerk joins and ends it, then
approves; the history and the handling office's list show it; another office gets 404."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.commands import ApplyAsFamily, NotifyBirth
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


def haiyan_case(container: Container) -> Any:
    """Born in Haiyan to a Haiyan mother insured in Jinshan: maternity benefits are hers to
    claim from Jinshan's agency, at the Haiyan window."""
    facts = make_facts(birth_division=HAIYAN)
    mother = replace(
        facts.mother,
        citizen_id=make_citizen_id(HAIYAN, date(1994, 3, 8), 124),
        hukou_division=HAIYAN,
        residence_division=HAIYAN,
    )
    outcome = container.ledger.notify_birth(
        NotifyBirth("m-rw", replace(facts, mother=mother), b"{}")
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

    start = datetime.now(CST) + timedelta(days=1)
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
