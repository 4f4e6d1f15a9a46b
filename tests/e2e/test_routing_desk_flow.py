"""Issue 17's routing over HTTP, on each store: a birth no alliance agreement covers is routed
by the national 跨省通办 list, or parked at the routing desk and routed by a coordinator; either
way it is dispatched as usual and the case completes.

Born in Yueyang (430602), mother's hukou in Wuhan (420102), family living in Shenzhen
(440304): the alliance has Hunan-Hubei and Hunan-Guangdong hukou agreements, none for
Guangdong-Hubei, so only the national list (or the desk) routes the registration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.catalog import load_catalog
from domain.births.commands import NotifyBirth
from domain.births.facts import Parent
from domain.kernel.identifiers import make_citizen_id
from domain.wings import list_in_force, load_national_list
from tests.conftest import make_facts

YUEYANG, WUHAN, SHENZHEN = "430602", "420102", "440304"
CHILD_ID = make_citizen_id(WUHAN, date(2026, 11, 20), 28)
RESULTS = {
    "birth-certificate": {"certificate_number": "X430602001"},
    "vaccination": {"vaccination_record_number": "VR-440304-0001"},
    "household-registration": {"citizen_id": CHILD_ID},
    "medical-insurance": {"enrolment_number": "MI-420102-0001"},
    "social-security-card": {"card_number": "SSC-420102-0001"},
}
# a list without newborn registration on it: what the desk is for
UNLISTED = replace(load_national_list(), version="test-unlisted", entries={})


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Actors:
    """Tokens of the scenario's offices, coordinators, monitor, admin and family."""

    def __init__(self, container: Container, case_id: UUID) -> None:
        add = container.actors.add
        self.offices = {
            (locality, authority): add("office", locality, authority)[1]
            for locality in (YUEYANG, WUHAN, SHENZHEN)
            for authority in ("health", "cdc", "public-security", "medical-insurance", "hrss")
        }
        self.coordinators = {s: add("coordinator", s)[1] for s in ("42", "44", "national")}
        self.monitor = add("monitor", "42")[1]
        self.admin = add("admin", None)[1]
        self.family = add("family", str(case_id))[1]

    def office(self, locality: str, service: str) -> dict[str, str]:
        return bearer(self.offices[(locality, load_catalog()[service].authority)])


def notify(container: Container, record_ref: str) -> UUID:
    mother = Parent(
        citizen_id=make_citizen_id(WUHAN, date(1994, 3, 8), 124),
        name="王芳",
        phone="13800000000",
        hukou_division=WUHAN,
        residence_division=SHENZHEN,
    )
    facts = make_facts(record_ref, mother=mother, child_name="王小明")
    outcome = container.ledger.notify_birth(NotifyBirth(f"m-{record_ref}", facts, b"{}"))
    container.after_command()
    return outcome.case_id


def services(client: TestClient, case_id: UUID, token: str) -> dict[str, dict[str, Any]]:
    view = client.get(f"/cases/{case_id}", headers=bearer(token))
    assert view.status_code == 200, view.json()
    return {s["service"]: s for s in view.json()["services"]}


def post(client: TestClient, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.json()
    return response.json()


def handle(client: TestClient, actors: Actors, route: dict[str, Any]) -> None:
    """The receiving office receives, the handling office approves."""
    service, request_id = route["service"], route["service_request_id"]
    receiving = actors.office(route["receiving_locality"], service)
    handling = actors.office(route["handling_locality"], service)
    post(client, f"/service-requests/{request_id}/receive", receiving, {"receipt_number": "R-1"})
    post(client, f"/service-requests/{request_id}/approve", handling, RESULTS[service])


def complete(client: TestClient, actors: Actors, case_id: UUID) -> None:
    """Every office does its part as the plan unblocks it, until the case completes."""
    for _ in range(len(RESULTS)):
        plan = services(client, case_id, actors.admin)
        for route in plan.values():
            if route["state"] == "dispatched":
                handle(client, actors, route)
    view = client.get(f"/cases/{case_id}", headers=bearer(actors.family)).json()
    assert view["state"] == "completed"


def test_a_birth_no_agreement_covers_is_routed_by_the_national_list(
    client: TestClient, container: Container
) -> None:
    case_id = notify(container, "MR-LIST")
    actors = Actors(container, case_id)
    plan = services(client, case_id, actors.admin)
    hukou = plan["household-registration"]
    assert (hukou["handling_locality"], hukou["receiving_locality"], hukou["mode"]) == (
        WUHAN,
        SHENZHEN,
        "off-site",
    )
    assert not hukou["manual_routing"]
    request = container.ledger.get_request(UUID(hukou["service_request_id"]))
    assert "national 跨省通办 list" in request.route.planned.route_note
    assert request.route.national_list_version == load_national_list().version
    # online (全程网办): the Wuhan insurance office receives it itself, no window between
    insurance = plan["medical-insurance"]
    assert (insurance["receiving_locality"], insurance["mode"]) == (WUHAN, "online")
    desk = client.get("/routing-desk?scope=national", headers=bearer(actors.admin)).json()
    assert desk["total"] == 0
    # joint handling (多地联办): the case as a whole, by three places' authorities
    handling = client.get(f"/cases/{case_id}", headers=bearer(actors.family)).json()["handling"]
    assert handling["mode"] == "joint"
    assert [p["locality"] for p in handling["places"]] == [WUHAN, YUEYANG, SHENZHEN]
    assert "多地联办" in handling["note"]

    post(client, f"/service-requests/{plan['birth-certificate']['service_request_id']}/receive",
         actors.office(YUEYANG, "birth-certificate"), {"receipt_number": "R-0"})  # fmt: skip
    post(client, f"/service-requests/{plan['birth-certificate']['service_request_id']}/approve",
         actors.office(YUEYANG, "birth-certificate"), RESULTS["birth-certificate"])  # fmt: skip
    hukou_id = hukou["service_request_id"]
    decides_only = client.post(
        f"/service-requests/{hukou_id}/receive",
        headers=actors.office(WUHAN, "household-registration"),
        json={"receipt_number": "R-X"},
    )
    assert decides_only.status_code == 404  # off-site: the Shenzhen window receives
    complete(client, actors, case_id)


def test_a_parked_birth_is_routed_at_the_desk_dispatched_and_completed(
    client: TestClient, container: Container
) -> None:
    with list_in_force(UNLISTED):
        case_id = notify(container, "MR-DESK")
        actors = Actors(container, case_id)
        plan = services(client, case_id, actors.admin)
        hukou = plan["household-registration"]
        assert hukou["manual_routing"]
        assert hukou["state"] == "planned"
        hukou_id = hukou["service_request_id"]

        # the desk of Hubei (the handling place's province) and the national desk list it
        desk = client.get("/routing-desk", headers=bearer(actors.coordinators["42"]))
        assert desk.status_code == 200, desk.json()
        body = desk.json()
        assert (body["scope"], body["total"], body["time_limit_days"]) == ("42", 1, 2)
        row = body["rows"][0]
        assert (row["service_request_id"], row["case_id"]) == (hukou_id, str(case_id))
        assert (row["handling_locality"], row["family_locality"]) == (WUHAN, SHENZHEN)
        assert row["service"] == "household-registration"
        assert not row["overdue"]
        assert "manual routing" in row["route_note"]
        assert "王" not in str(body)  # no personal data on the desk
        national = client.get("/routing-desk?scope=national",
                              headers=bearer(actors.coordinators["national"]))  # fmt: skip
        assert national.json()["total"] == 1
        guangdong = bearer(actors.coordinators["44"])
        assert client.get("/routing-desk?scope=42", headers=guangdong).status_code == 404
        assert client.get("/routing-desk", headers=guangdong).json()["total"] == 0
        assert client.get("/routing-desk?scope=4", headers=guangdong).status_code == 422
        assert client.get("/routing-desk", headers=bearer(actors.monitor)).status_code == 404

        # never invisible: the family reads whose desk and until when; the monitor counts it
        family = client.get(f"/cases/{case_id}", headers=bearer(actors.family)).json()
        assert f"the routing desk of province 42 until {row['due']}" in family["next_action"]
        figures = client.get(f"/monitoring/localities/{WUHAN}", headers=bearer(actors.monitor))
        assert (figures.json()["parked"], figures.json()["parked_in_province"]) == (1, 1)

        # past the desk's time: the deadline job warns once, the desk flags it
        now = container.ledger.clock()
        container.ledger.clock = lambda: now + timedelta(days=7)
        assert container.watch_deadlines() >= 1
        assert container.watch_deadlines() == 0
        overdue = client.get("/routing-desk", headers=bearer(actors.coordinators["42"])).json()
        assert overdue["rows"][0]["overdue"] is True

        route = {
            "handling_locality": WUHAN,
            "receiving_locality": SHENZHEN,
            "mode": "off-site",
            "reason": "新生儿入户 via the MPS collaboration platform",
        }
        path = f"/service-requests/{hukou_id}/route"
        assert client.post(path, json=route, headers=guangdong).status_code == 404
        for bad, field in [
            ({"mode": "online"}, "mode"),  # household registration is never online
            ({"handling_locality": YUEYANG}, "handling_locality"),  # decision power stays
            ({"receiving_locality": "99"}, "receiving_locality"),
        ]:
            refused = client.post(path, json=route | bad, headers=bearer(actors.coordinators["42"]))
            assert refused.status_code == 422, refused.json()
            assert refused.json()["field"] == field
        hubei = bearer(actors.coordinators["42"])
        assert client.post(path, json=route | {"reason": ""}, headers=hubei).status_code == 422
        routed = post(client, path, bearer(actors.coordinators["42"]), route)
        assert (routed["receiving_locality"], routed["mode"]) == (SHENZHEN, "off-site")
        assert (
            client.post(path, json=route, headers=bearer(actors.coordinators["42"])).status_code
            == 200
        )
        events = [type(e).__name__ for e in container.ledger.events.get(UUID(hukou_id))]
        assert events.count("Routed") == 1  # the same route again records nothing

        desk_after = client.get("/routing-desk", headers=bearer(actors.coordinators["42"]))
        assert desk_after.json()["total"] == 0
        figures = client.get(f"/monitoring/localities/{WUHAN}", headers=bearer(actors.monitor))
        assert figures.json()["parked"] == 0
        hukou = services(client, case_id, actors.admin)["household-registration"]
        assert (hukou["state"], hukou["manual_routing"]) == ("planned", False)  # waits for S1
        complete(client, actors, case_id)
        history = client.get(f"/cases/{case_id}", headers=bearer(actors.family)).json()
        assert "Routed" in str(history)
        again = client.post(path, json=route, headers=bearer(actors.coordinators["42"]))
        assert again.status_code == 409  # dispatched and done: nothing to route
