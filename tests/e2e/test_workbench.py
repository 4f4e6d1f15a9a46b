"""Issue 20's clerk's workbench over HTTP on SQLite and PostgreSQL: GET /service-requests/{id}
shows an office exactly the data dispatched to it, the family's supplement answer, the
timeline, the due clock, who acts next and the steps it may take; the office finds its
requests by tracking code or a parent's citizen ID (a keyed digest, never the ID in clear),
and never another office's; every read is in the audit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.kernel.catalog import ServiceDefinition
from domain.wings import service as service_definition
from tests.conftest import make_facts
from tests.e2e.test_rejection_flow import RESULTS, Journey

MOTHER_ID = make_facts().mother.citizen_id or ""


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def workbench(journey: Journey, request_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = journey.client.get(f"/service-requests/{request_id}", headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def search(journey: Journey, office: tuple[str, str], headers: dict[str, str], body: Any) -> Any:
    path = "/offices/{}/{}/search".format(*office)
    return journey.client.post(path, json=body, headers=headers)


def test_the_office_sees_what_was_dispatched_answers_and_acts(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-WB-1")
    journey.decide("birth-certificate")  # its number is carried to the hukou registration
    hukou = journey.services()["household-registration"]
    request_id = hukou["service_request_id"]
    wuhan = journey.office("household-registration", "handling")
    view = workbench(journey, request_id, wuhan)

    definition: ServiceDefinition = service_definition("household-registration")
    assert set(view["dispatched"]) <= set(definition.visible_fields)  # nothing else
    assert view["dispatched"]["child_name"] == "王小明"
    assert view["dispatched"]["sex"] == "female"
    assert view["dispatched"]["born_at"].startswith("2026-11-20T08:30")
    assert view["dispatched"]["mother.citizen_id"] == MOTHER_ID
    assert view["dispatched"]["certificate_number"] == "X430602001"  # carried forward
    assert "birth_weight_g" not in view["dispatched"]  # not the police's to see
    assert view["state"] == "dispatched"
    assert view["role"] == "decide-here"
    assert view["clock"]["whose"] == "receiving-window"
    assert view["clock"]["due"] == view["due"]
    # the window in Yueyang receives (受理) first: nothing for Wuhan to do yet
    assert view["next"]["who"] == "public-security 430602"
    assert view["next"]["you"] is False
    assert view["actions"] == []
    assert any(e["event"] == "Dispatched" for e in view["timeline"])
    window = journey.office("household-registration", "receiving")
    assert [a["action"] for a in workbench(journey, request_id, window)["actions"]] == [
        "receive",
        "request-supplement",
    ]

    journey.step("household-registration", "receive", {"receipt_number": "R-WB-1"})
    journey.step("household-registration", "request-supplement", {"items": ["户口簿"]})
    view = workbench(journey, request_id, wuhan)
    assert view["next"] == {
        "party": "family",
        "who": "family",
        "action": "supplement",
        "due": view["due"],
        "you": False,
    }
    assert view["clock"]["whose"] == "family"
    assert [n["items"] for n in view["notices"]] == [["户口簿"]]
    answered = journey.post(
        f"/service-requests/{request_id}/supplement",
        journey.family,
        {"items": ["户口簿首页及本人页 已上传"]},
    )
    assert answered.status_code == 200, answered.text

    view = workbench(journey, request_id, wuhan)
    assert [s["items"] for s in view["supplements"]] == [["户口簿首页及本人页 已上传"]]
    assert view["documents"] == []
    actions = {a["action"]: a for a in view["actions"]}
    assert set(actions) == {"approve", "reject"}  # one notice per reception was given
    assert actions["approve"]["result_field"] == "citizen_id"
    assert view["clock"]["whose"] == "handling-office"
    assert view["next"]["you"] is True

    journey.step("household-registration", "approve", RESULTS["household-registration"])
    view = workbench(journey, request_id, wuhan)
    assert view["state"] == "approved"
    assert view["next"] is None
    assert view["actions"] == []
    assert view["result"] == RESULTS["household-registration"]


def test_another_office_and_a_family_do_not_see_the_request(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-WB-2")
    request_id = journey.services()["vaccination"]["service_request_id"]
    police = journey.offices.header("430602", "public-security")
    for headers in (police, journey.family):
        response = client.get(f"/service-requests/{request_id}", headers=headers)
        assert response.status_code in (403, 404), response.text
    assert client.get(f"/service-requests/{request_id}", headers=police).status_code == 404
    admin = workbench(journey, request_id, journey.admin)
    assert admin["role"] is None
    assert admin["actions"]  # an admin may take every step


def test_the_office_finds_its_requests_by_tracking_code_or_citizen_id(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-WB-3")
    code = client.get(f"/cases/{journey.case_id}", headers=journey.admin).json()["tracking_code"]
    police_office = ("420102", "public-security")  # Wuhan Jiang'an decides the hukou
    police = journey.offices.header(*police_office)
    journey.decide("birth-certificate")  # the hukou registration is dispatched

    found = search(journey, police_office, police, {"tracking_code": code.lower()})
    assert found.status_code == 200, found.text
    rows = found.json()["rows"]
    assert [r["service"] for r in rows] == ["household-registration"]
    assert rows[0]["child_name"] == "王小明"
    assert rows[0]["role"] == "decide-here"

    by_id = search(journey, police_office, police, {"citizen_id": MOTHER_ID.lower()})
    assert by_id.status_code == 200, by_id.text
    found_ids = [r["service_request_id"] for r in by_id.json()["rows"]]
    assert found_ids == [rows[0]["service_request_id"]]

    # the clinic was never sent the mother's citizen ID: it cannot find the case by it
    clinic_office = ("430602", "cdc")
    clinic = journey.offices.header(*clinic_office)
    assert search(journey, clinic_office, clinic, {"citizen_id": MOTHER_ID}).json()["rows"] == []
    assert [
        r["service"]
        for r in search(journey, clinic_office, clinic, {"tracking_code": code}).json()["rows"]
    ] == ["vaccination"]
    # another office's search path is not this clerk's
    refused = search(journey, police_office, clinic, {"tracking_code": code})
    assert refused.status_code == 404


def test_the_index_holds_no_citizen_id_in_clear(client: TestClient, container: Container) -> None:
    Journey(client, container, "MR-WB-4")
    dumped = container.projections.office_search_view.dump()
    assert dumped["parents"]
    assert MOTHER_ID not in repr(dumped)
    assert all(len(str(row["digest"])) == 64 for row in dumped["parents"])


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "tracking_code"),
        ({"tracking_code": "ABCDEFGHJKMN", "citizen_id": MOTHER_ID}, "citizen_id"),
        ({"tracking_code": "NOT-A-CODE"}, "tracking_code"),
        ({"citizen_id": "420102199403081235"}, "citizen_id"),  # a wrong check character
        ({"citizen_id": 42}, "citizen_id"),
    ],
)
def test_a_bad_search_is_a_problem_naming_its_field(
    client: TestClient, container: Container, body: dict[str, Any], where: str
) -> None:
    journey = Journey(client, container, "MR-WB-5")
    office = ("420102", "public-security")
    response = search(journey, office, journey.offices.header(*office), body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == where


def test_reads_and_searches_are_audited_without_personal_data(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-WB-6")
    journey.decide("birth-certificate")  # the hukou registration is dispatched
    request_id = journey.services()["household-registration"]["service_request_id"]
    office = ("420102", "public-security")
    police = journey.offices.header(*office)
    workbench(journey, request_id, police)
    search(journey, office, police, {"citizen_id": MOTHER_ID})
    search(journey, office, police, {"tracking_code": "ABCDEFGHJKMN"})  # finds nothing
    rows = client.get("/audit", headers=journey.admin).json()["rows"]
    mine = [(r["what"], r["case_id"], r["target"]) for r in rows if r["role"] == "office"]
    case = str(journey.case_id)
    assert ("request", case, request_id) in mine
    assert ("search", case, request_id) in mine
    assert ("search", "", "") in mine
    assert MOTHER_ID not in repr(rows)


def test_a_request_waiting_on_an_earlier_service_shows_nothing_sent_and_no_clock(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-WB-7")
    request_id = journey.services()["household-registration"]["service_request_id"]
    view = workbench(journey, request_id, journey.offices.header("420102", "public-security"))
    assert view["state"] == "planned"  # it needs the birth certificate's number first
    assert view["dispatched"] == {}
    assert view["clock"] == {
        "due": None,
        "due_provisional": False,
        "whose": "none",
        "overdue": False,
        "due_soon": False,
    }
    # it waits behind the birth certificate (the case's waiting_on): which service, and not
    # who holds it, where or by when (that is another office's and the family's to know)
    assert view["next"] == {"waits_on": "birth-certificate"}
    assert view["actions"] == []
    assert view["notices"] == view["supplements"] == view["documents"] == []
