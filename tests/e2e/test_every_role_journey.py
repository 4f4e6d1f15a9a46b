"""Issue 5's journey over HTTP: one cross-province case walked through every role with real tokens.

Born in Yueyang (430602), the mother's hukou in Wuhan Jiang'an (420102), the child joins the
mother's household: the hospital notifies by FHIR, the family tracks and applies, eight offices
in two provinces work their queues (one asks for a supplement), the family rates, the monitors
read the month's figures and the 43 → 42 flow. Every party reads only what its role may see.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from adapters.settings import Settings
from api.app import create_app
from domain.births.catalog import load_catalog
from domain.kernel.identifiers import make_citizen_id
from integrations.hospital.writer import notification_message
from tests.conftest import CST, HOSPITAL, make_facts

FHIR = "application/fhir+json"
RECORD = "MR-JOURNEY-1"
CHILD_NAME = "王小雨"  # the mother's surname: the child joins her household
CHILD_ID = make_citizen_id("420102", date(2026, 11, 20), 28)
COMMENT = "跑了两趟才办好"
SUPPLEMENT = ["出生医学证明原件照片", "母亲居民户口簿户主页"]
OFFICES = [
    ("430602", "health"),
    ("430602", "cdc"),
    ("430602", "public-security"),
    ("420102", "public-security"),
    # online (全程网办): the Wuhan insurance and card offices receive their requests themselves
    ("420102", "medical-insurance"),
    ("420102", "hrss"),
]
RESULTS: dict[str, dict[str, str]] = {  # in the order the offices get to them
    "vaccination": {"vaccination_record_number": "VR-430602-0001"},
    "birth-certificate": {"certificate_number": "X430602001"},
    "household-registration": {"citizen_id": CHILD_ID},
    "medical-insurance": {"enrolment_number": "MI-420102-0001"},
    "social-security-card": {"card_number": "SSC-420102-0001"},
}
OFFICE_SERVICE_KEYS = {
    "service",
    "service_request_id",
    "state",
    "handling_locality",
    "receiving_locality",
    "mode",
    "manual_routing",
    "due",
    "due_provisional",
    "attempt",
    "resubmits",
    "resubmitted_as",
    "rejection",
    "blocked_by",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """conftest's stores, but PostgreSQL in a schema of its own (parallel runs use `public`)."""
    if request.param == "postgres":
        from tests.pg import postgres_settings

        pg_settings: Settings = postgres_settings("every_role_journey")
        return pg_settings
    return Settings(persistence="sqlite", sqlite_dir=str(tmp_path / "var"))


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Actors:
    """Every caller of the journey, added through the actor directory (real tokens)."""

    def __init__(self, container: Container) -> None:
        add = container.actors.add
        self.hospital = bearer(add("hospital", HOSPITAL)[1])
        self.offices = {office: bearer(add("office", *office)[1]) for office in OFFICES}
        self.monitors = {scope: bearer(add("monitor", scope)[1]) for scope in ("42", "43")}
        self.monitors["national"] = bearer(add("monitor", "national")[1])
        self.admin = bearer(add("admin", None)[1])

    def office(self, locality: str, service: str) -> dict[str, str]:
        return self.offices[(locality, load_catalog()[service].authority)]


def ok(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def ack_parameters(ack: dict[str, Any]) -> dict[str, str]:
    params = next(
        e["resource"] for e in ack["entry"] if e["resource"]["resourceType"] == "Parameters"
    )
    return {p["name"]: p.get("valueString") or p.get("valueUri") for p in params["parameter"]}


def test_a_cross_province_case_through_every_role(client: TestClient, container: Container) -> None:
    actors = Actors(container)
    facts = make_facts(RECORD)
    mother_id, phone = facts.mother.citizen_id, facts.mother.phone
    assert mother_id is not None
    assert phone is not None

    # Hospital: one FHIR message; the acknowledgement carries the case and tracking code.
    message = orjson.dumps(notification_message(facts, "journey-msg-1"))
    ack = ok(
        client.post(
            "/fhir/$process-message",
            content=message,
            headers={**actors.hospital, "Content-Type": FHIR},
        )
    )
    params = ack_parameters(ack)
    case_id, code = params["case_id"], params["tracking_code"]
    case_url = f"/cases/{case_id}"

    # Family: tracking code + verifier (the last 6 of the mother's ID, or her phone).
    wrong = client.post("/track", json={"tracking_code": code, "verifier": "000000"})
    assert wrong.status_code == 404
    assert case_id not in wrong.text
    by_id = ok(
        client.post("/track", json={"tracking_code": code.lower(), "verifier": mother_id[-6:]}),
        201,
    )
    by_phone = ok(client.post("/track", json={"tracking_code": code, "verifier": phone}), 201)
    assert by_id["case_id"] == by_phone["case_id"] == case_id
    assert by_id["token"] != by_phone["token"]
    family = bearer(by_id["token"])
    assert ok(client.get(case_url, headers=bearer(by_phone["token"])))["case_id"] == case_id
    first = ok(client.get(case_url, headers=family))
    assert first["tracking_code"] == code
    assert first["next_action"] == "apply: name"
    assert [e["event"] for e in first["timeline"]][:2] == ["Notified", "ServicesPlanned"]
    plan = {s["service"]: s for s in first["services"]}
    assert set(plan) == set(RESULTS)
    offices_involved = {
        (place, load_catalog()[s["service"]].authority)
        for s in plan.values()
        for place in (s["handling_locality"], s["receiving_locality"])
    }
    assert offices_involved == set(OFFICES)
    hukou = plan["household-registration"]
    assert (hukou["handling_locality"], hukou["receiving_locality"], hukou["mode"]) == (
        "420102",
        "430602",
        "off-site",
    )

    applied = ok(
        client.post(
            f"{case_url}/family-application",
            headers=family,
            json={
                "child_name": CHILD_NAME,
                "household": "mother",
                "residence_division": "430602",
                "consent": True,
            },
        )
    )
    assert applied["case_id"] == case_id
    waiting = ok(client.get(case_url, headers=family))
    assert waiting["next_action"].startswith("nothing: waiting for office")
    assert "FamilyApplied" in [e["event"] for e in waiting["timeline"]]

    # Offices: each finds its work in its queue, receives, and the handling office decides.
    for service in RESULTS:
        work(client, actors, family, case_id, plan[service])

    # Family: completed, every result visible; a bad rating (差评) once.
    done = ok(client.get(case_url, headers=family))
    assert done["state"] == "completed"
    assert done["next_action"] == "rate: the service"
    assert {s["service"]: s["result"] for s in done["services"]} == RESULTS
    rated = ok(
        client.post(f"{case_url}/rating", headers=family, json={"score": 2, "comment": COMMENT}),
        201,
    )
    assert rated == {"case_id": case_id, "score": 2}
    again = client.post(f"{case_url}/rating", headers=family, json={"score": 5})
    assert again.status_code == 409
    assert ok(client.get(case_url, headers=family))["next_action"] == (
        "nothing: completed and rated"
    )
    timeline = ok(client.get(case_url, headers=family))["timeline"]
    assert {"Completed", "Rated"} <= {e["event"] for e in timeline}

    history = ok(client.get(f"{case_url}/history", headers=actors.admin))["events"]
    pii = {mother_id, phone, facts.mother.name or "", CHILD_NAME, code, RECORD, COMMENT}
    check_monitors(client, actors, case_id, history, pii | {CHILD_ID})

    # Hospital: finds its case by its own record key.
    found = ok(client.get("/cases", params={"hospital_ref": RECORD}, headers=actors.hospital))
    assert [(c["case_id"], c["hospital_ref"], c["state"]) for c in found["cases"]] == [
        (case_id, RECORD, "completed")
    ]
    assert found["cases"][0]["tracking_code"] == code

    check_histories(client, actors, family, case_id, history, mother_id)
    check_office_views(client, actors, case_id, facts.to_dict())


def work(
    client: TestClient,
    actors: Actors,
    family: dict[str, str],
    case_id: str,
    route: dict[str, Any],
) -> None:
    """One service through its offices: queue → receive (→ supplement) → approve."""
    service, request_id = route["service"], route["service_request_id"]
    receiving = actors.office(route["receiving_locality"], service)
    handling = actors.office(route["handling_locality"], service)
    authority = load_catalog()[service].authority
    row = queue_row(client, receiving, route["receiving_locality"], authority, request_id)
    assert row["case_id"] == case_id
    assert row["state"] == "dispatched"
    same_place = route["receiving_locality"] == route["handling_locality"]
    assert row["role"] == ("both" if same_place else "receive-for-other")
    received = step(client, request_id, "receive", receiving, {"receipt_number": f"R-{service}"})
    assert received["state"] == "received"
    assert received["due"]
    if service == "household-registration":  # the hukou window asks for everything at once
        asked = step(client, request_id, "request-supplement", receiving, {"items": SUPPLEMENT})
        assert asked["state"] == "supplement-requested"
        view = ok(client.get(f"/cases/{case_id}", headers=family))
        assert view["next_action"] == "supplement: " + ", ".join(SUPPLEMENT)
        assert {s["service"]: s["awaiting"] for s in view["services"]}[service] == SUPPLEMENT
        answered = step(client, request_id, "supplement", family, {"items": SUPPLEMENT})
        assert answered["state"] == "received"
        twice = client.post(
            f"/service-requests/{request_id}/supplement", json={"items": SUPPLEMENT}, headers=family
        )
        assert twice.status_code == 409  # one request for supplements, answered once
    row = queue_row(client, handling, route["handling_locality"], authority, request_id)
    assert row["state"] == "received"
    if not same_place:
        assert row["role"] == "decide-here"
    approved = step(client, request_id, "approve", handling, RESULTS[service])
    assert approved["state"] == "approved"


def queue_row(
    client: TestClient, office: dict[str, str], locality: str, authority: str, request_id: str
) -> dict[str, Any]:
    """The request's row in an office's queue; the queue holds only that authority's work."""
    queue = ok(client.get(f"/offices/{locality}/{authority}/queue", headers=office))
    assert (queue["locality"], queue["authority"]) == (locality, authority)
    services = {s.code for s in load_catalog() if s.authority == authority}
    assert {r["service"] for r in queue["rows"]} <= services
    rows = [r for r in queue["rows"] if r["service_request_id"] == request_id]
    assert len(rows) == 1, queue
    row: dict[str, Any] = rows[0]
    return row


def step(
    client: TestClient, request_id: str, action: str, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        client.post(f"/service-requests/{request_id}/{action}", json=body, headers=headers)
    )
    return result


def check_monitors(
    client: TestClient,
    actors: Actors,
    case_id: str,
    history: list[dict[str, Any]],
    pii: set[str],
) -> None:
    """Province monitors see their localities, the national one all; flows for both ends.
    Figures and flows carry no personal data; the bad rating is a follow-up to call back,
    counted once, in the unit that answers for it (the office that decided last)."""
    month = at(history, "Rated").strftime("%Y-%m")  # the month of the events, China time
    rated = next(e for e in history if e["event"] == "Rated")
    unit = rated["data"]["locality"]
    assert unit in ("430602", "420102")
    assert rated["data"]["due"] > rated["at"][:10]  # working days ahead
    common = {"completed": 1}
    expected = {
        "430602": {"received": 2, "decided": 2, "approved": 2, **common},
        "420102": {"received": 3, "decided": 3, "approved": 3, **common},
    }
    readers = {"430602": ("43", "national"), "420102": ("42", "national")}
    for locality, scopes in readers.items():
        for scope in ("42", "43", "national"):
            response = client.get(
                f"/monitoring/localities/{locality}",
                params={"month": month},
                headers=actors.monitors[scope],
            )
            if scope not in scopes:
                assert response.status_code == 404, (scope, locality)
                continue
            figures = ok(response)
            assert (figures["locality"], figures["month"]) == (locality, month)
            assert {k: figures[k] for k in expected[locality]} == expected[locality]
            assert (figures["rejected"], figures["on_time_rate"]) == (0, 1.0)
            assert figures["median_hours"] is not None
            here = int(locality == unit)
            assert (figures["ratings"], figures["bad_ratings"]) == (here, here)
            # The bad rating is a follow-up to call back: the case by its id, the comment.
            assert [
                (f["case_id"], f["score"], f["rated_at"], f["comment"])
                for f in figures["follow_ups"]
            ] == [(case_id, 2, rated["at"], COMMENT)] * here
            others = pii - {COMMENT}  # the comment is the follow-up's (that read is audited)
            assert not {value for value in others if value and value in response.text}
    flow = {
        "month": month,
        "birth_province": "43",
        "hukou_province": "42",
        "cases": 1,
        "cross_province": True,
    }
    for scope in ("42", "43", "national"):
        flows = ok(
            client.get("/monitoring/flows", params={"month": month}, headers=actors.monitors[scope])
        )
        assert flows == {"month": month, "flows": [flow]}
        assert case_id not in str(flows)
    for headers in actors.monitors.values():  # a bad rating's case by its id, never the case
        assert client.get(f"/cases/{case_id}", headers=headers).status_code == 404


def at(history: list[dict[str, Any]], event: str, stream: str = "case") -> datetime:
    """When an event of the admin's history happened, in China time."""
    found = next(e for e in history if (e["stream"], e["event"]) == (stream, event))
    return datetime.fromisoformat(found["at"]).astimezone(CST)


def check_histories(
    client: TestClient,
    actors: Actors,
    family: dict[str, str],
    case_id: str,
    history: list[dict[str, Any]],
    mother_id: str,
) -> None:
    """The event stream and the case as it was, per role; monitors get neither."""
    url = f"/cases/{case_id}"
    seen = ok(client.get(f"{url}/history", headers=actors.hospital))["events"]
    data = {(e["stream"], e["event"]): e["data"] for e in seen}
    assert data[("case", "Notified")]["facts"]["mother"]["citizen_id"] == mother_id
    assert data[("case", "FamilyApplied")] == {}  # the family's choices are not the hospital's
    assert data[("case", "Rated")] == {}
    assert data[("birth-certificate", "Approved")] == {"result": RESULTS["birth-certificate"]}
    own = ok(client.get(f"{url}/history", headers=family))["events"]
    data = {(e["stream"], e["event"]): e["data"] for e in own}
    assert data[("case", "Notified")] == {}
    assert data[("case", "FamilyApplied")]["application"]["child_name"] == CHILD_NAME
    assert data[("case", "Rated")] == {"score": 2, "comment": COMMENT}  # not the unit
    notice = data[("household-registration", "SupplementRequested")]
    assert (notice["items"], notice["reason"]) == (SUPPLEMENT, "")
    assert notice["family_due"]  # the family's window to answer it
    assert data[("household-registration", "Dispatched")] == {}
    assert mother_id not in orjson.dumps(own).decode()
    assert [(e["stream"], e["event"]) for e in own] == [(e["stream"], e["event"]) for e in history]
    for monitor in actors.monitors.values():
        assert client.get(f"{url}/history", headers=monitor).status_code == 404

    before_apply = at(history, "FamilyApplied") - timedelta(microseconds=1)
    params = {"as_of": before_apply.isoformat()}
    for headers in (actors.hospital, family, actors.admin):
        past = ok(client.get(url, params=params, headers=headers))
        assert past["as_of"] == before_apply.isoformat()
        assert past["state"] == "in-progress"
        states = {s["service"]: s["state"] for s in past["services"]}
        assert states["birth-certificate"] == "planned"  # waits for the child's name
        assert states["vaccination"] == "dispatched"
        assert "next_action" not in past
    for office, service in (
        (("430602", "health"), "birth-certificate"),
        (("420102", "public-security"), "household-registration"),
        (("430602", "cdc"), "vaccination"),
    ):
        past = ok(client.get(url, params=params, headers=actors.offices[office]))
        assert [s["service"] for s in past["services"]] == [service]
    now = ok(client.get(url, params={"as_of": history[-1]["at"]}, headers=family))
    assert now["state"] == "completed"
    before_case = at(history, "Notified") - timedelta(seconds=1)
    for headers in (actors.hospital, family, actors.offices[("430602", "cdc")]):
        gone = client.get(url, params={"as_of": before_case.isoformat()}, headers=headers)
        assert gone.status_code == 404
    bad = client.get(url, params={"as_of": "yesterday"}, headers=family)
    assert bad.status_code == 422
    for monitor in actors.monitors.values():
        assert client.get(url, params=params, headers=monitor).status_code == 404


PII_FIELDS = (
    "mother.citizen_id",
    "mother.name",
    "mother.phone",
    "child_name",
    "record_ref",
    "facility_uscc",
    "certificate_number",
    "vaccination_record_number",
    "citizen_id",
    "enrolment_number",
    "card_number",
)


def check_office_views(
    client: TestClient, actors: Actors, case_id: str, facts: dict[str, Any]
) -> None:
    """Each office sees only its own service(s) and, of the data, only what they need."""
    admin_view = ok(client.get(f"/cases/{case_id}", headers=actors.admin))
    routes = admin_view["services"]
    mother = facts["mother"]
    values = {
        "mother.citizen_id": mother["citizen_id"],
        "mother.name": mother["name"],
        "mother.phone": mother["phone"],
        "child_name": CHILD_NAME,
        "record_ref": RECORD,
        "facility_uscc": HOSPITAL,
    } | {field: value for result in RESULTS.values() for field, value in result.items()}
    assert set(values) == set(PII_FIELDS)
    catalog = load_catalog()
    for (locality, authority), headers in actors.offices.items():
        mine = [
            r["service"]
            for r in routes
            if catalog[r["service"]].authority == authority
            and locality in (r["handling_locality"], r["receiving_locality"])
        ]
        assert mine, (locality, authority)
        view = client.get(f"/cases/{case_id}", headers=headers)
        body = ok(view)
        assert [s["service"] for s in body["services"]] == mine
        assert set(body) == {"case_id", "state", "services"}
        assert all(set(s) == OFFICE_SERVICE_KEYS for s in body["services"])
        history = client.get(f"/cases/{case_id}/history", headers=headers)
        events = ok(history)["events"]
        assert {e["stream"] for e in events} == {"case", *mine}
        assert all(e["data"] == {} for e in events if e["stream"] == "case")
        visible = {f for s in mine for f in catalog[s].visible_fields}
        visible |= {catalog[s].result_field for s in mine}
        for event in events:
            if event["event"] == "Dispatched":
                payload = event["data"]["payload"]
                assert set(payload) <= set(catalog[event["stream"]].visible_fields), event
                assert payload, event
        text = view.text + history.text
        for field, value in values.items():
            if field not in visible:
                assert value not in text, (locality, authority, field)
        assert admin_view["tracking_code"] not in text
    cdc = client.get(f"/cases/{case_id}/history", headers=actors.offices[("430602", "cdc")])
    assert mother["citizen_id"] not in cdc.text  # the vaccination clinic never sees her ID
