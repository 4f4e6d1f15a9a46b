"""Issue 20's monitor part over HTTP: province and city roll-ups, and a bad rating followed up.

A Yueyang birth (430602), the mother's hukou in Wuhan (420102): a received request counts in
its county, its city (4306 = 430600) and its province (43 = 430000). The family rates the
completed case 1 of 5: one follow-up, in the unit that decided last, which its office and a
monitor of its province call back (the case has ended: it still takes the event).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx2
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.commands import NotifyBirth, RateService
from domain.kernel.service_request import ServiceRequest
from tests.conftest import CST, RESULTS, make_facts, office_step

COMMENT = "等了太久 也没人解释"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def bearer(
    container: Container, role: str, scope: str | None, authority: str | None = None
) -> dict[str, str]:
    return {"Authorization": f"Bearer {container.actors.add(role, scope, authority)[1]}"}


def ok(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def notify(container: Container, ref: str) -> UUID:
    facts = make_facts(ref, child_name="王小雨")
    case_id = container.ledger.notify_birth(NotifyBirth(f"m-{ref}", facts)).case_id
    container.after_command()
    return case_id


def step(container: Container, case_id: UUID, service: str, action: str) -> None:
    request_id = ServiceRequest.create_id(case_id, service)
    fields = {"receipt_number": "R-1", "result": RESULTS[service]}
    office_step(container.ledger, request_id, action, "office:test", **fields)
    container.after_command()


def complete(container: Container, case_id: UUID) -> None:
    for _ in range(6):  # each approval unblocks the next services of the plan
        for service in container.ledger.get_case(case_id).planned_services:
            request = container.ledger.get_request(ServiceRequest.create_id(case_id, service))
            if request.state == "dispatched":
                step(container, case_id, service, "receive")
            if request.state in ("dispatched", "received"):
                step(container, case_id, service, "approve")
    assert container.ledger.get_case(case_id).state == "completed"


def figures(client: TestClient, code: str, headers: dict[str, str]) -> Any:
    month = datetime.now(CST).strftime("%Y-%m")
    return ok(
        client.get(f"/monitoring/localities/{code}", params={"month": month}, headers=headers)
    )


def test_a_received_request_counts_in_its_county_city_and_province(
    client: TestClient, container: Container
) -> None:
    hunan, hubei = bearer(container, "monitor", "43"), bearer(container, "monitor", "42")
    before = {code: figures(client, code, hunan)["received"] for code in ("43", "4306")}
    case_id = notify(container, "MR-ROLL-1")
    step(container, case_id, "birth-certificate", "receive")
    for code, key, level in (
        ("43", "43", "province"),
        ("430000", "43", "province"),
        ("4306", "4306", "city"),
    ):
        shown = figures(client, code, hunan)
        assert (shown["locality"], shown["level"]) == (key, level)
        assert shown["received"] == before[key] + 1
    city = figures(client, "430600", hunan)
    assert (city["locality"], city["level"]) == ("4306", "city")
    county = figures(client, "430602", hunan)
    assert (county["level"], county["received"]) == ("county", 1)
    assert figures(client, "42", hubei)["received"] == 0
    assert client.get("/monitoring/localities/43", headers=hubei).status_code == 404
    for bad in ("4", "430", "43000", "4306021", "93"):
        response = client.get(f"/monitoring/localities/{bad}", headers=hunan)
        assert response.status_code == 422, bad
        assert response.json()["parameter"] == "code"


def test_a_bad_rating_is_called_back_by_its_unit_and_a_monitor_after_the_case_ended(
    client: TestClient, container: Container
) -> None:
    case_id = notify(container, "MR-RATE-1")
    complete(container, case_id)
    container.ledger.rate(RateService(case_id, 1, COMMENT))
    container.after_command()
    unit = container.ledger.get_case(case_id).rated_unit
    assert unit is not None
    own_office = bearer(container, "office", unit.locality, unit.authority)
    other_authority = "cdc" if unit.authority != "cdc" else "health"
    other_office = bearer(container, "office", unit.locality, other_authority)
    province, other = unit.locality[:2], "42" if unit.locality[:2] == "43" else "43"
    monitor, outsider = bearer(container, "monitor", province), bearer(container, "monitor", other)

    (item,) = ok(client.get("/follow-ups", headers=own_office))["follow_ups"]
    assert (item["case_id"], item["score"], item["comment"]) == (str(case_id), 1, COMMENT)
    assert (item["service"], item["authority"], item["locality"]) == (
        unit.service,
        unit.authority,
        unit.locality,
    )
    assert item["due"] > item["rated_at"][:10]  # working days from the rating
    assert (item["call_backs"], item["called_back_at"]) == (0, None)
    assert ok(client.get("/follow-ups", headers=other_office))["follow_ups"] == []
    shown = figures(client, province, monitor)
    assert [f["case_id"] for f in shown["follow_ups"]] == [str(case_id)]
    assert (shown["ratings"], shown["bad_ratings"]) == (1, 1)  # once, in the unit's province
    elsewhere = figures(client, other, outsider)
    assert (elsewhere["follow_ups"], elsewhere["bad_ratings"]) == ([], 0)

    url = f"/cases/{case_id}/call-backs"
    body = {"outcome": "registered", "note": "已致电家长 列入整改台账"}
    for stranger in (other_office, outsider):
        assert client.post(url, json=body, headers=stranger).status_code == 404
    first = ok(client.post(url, json=body, headers=own_office), 201)
    assert (first["outcome"], first["by"].split(":")[0]) == ("registered", "office")
    ok(client.post(url, json={"outcome": "fixed"}, headers=monitor), 201)
    for bad in ({"outcome": "ignored"}, {"outcome": "fixed", "score": 5}, {}):
        response = client.post(url, json=bad, headers=own_office)
        assert response.status_code == 422, bad

    (done,) = ok(client.get("/follow-ups", headers=own_office))["follow_ups"]
    assert (done["call_backs"], done["outcome"], done["called_back_by"]) == (2, "fixed", "monitor")
    assert done["called_back_at"] == first["at"]
    admin = bearer(container, "admin", None)
    events = ok(client.get(f"/cases/{case_id}/history", headers=admin))["events"]
    called = [e["data"] for e in events if e["event"] == "CalledBack"]
    assert [(c["outcome"], c["note"]) for c in called] == [
        ("registered", body["note"]),
        ("fixed", ""),
    ]
    audit = ok(client.get("/audit", params={"case": str(case_id)}, headers=admin))
    readers = {(r["role"], r["what"]) for r in audit["rows"]}
    assert {("office", "follow-ups"), ("monitor", "follow-ups")} <= readers


def test_a_good_rating_has_nothing_to_call_back(client: TestClient, container: Container) -> None:
    case_id = notify(container, "MR-RATE-2")
    complete(container, case_id)
    container.ledger.rate(RateService(case_id, 5, "很方便"))
    container.after_command()
    unit = container.ledger.get_case(case_id).rated_unit
    assert unit is not None
    office = bearer(container, "office", unit.locality, unit.authority)
    response = client.post(
        f"/cases/{case_id}/call-backs", json={"outcome": "fixed"}, headers=office
    )
    assert response.status_code == 404
    assert response.json()["type"].endswith("follow-up-not-found")
    assert ok(client.get("/follow-ups", headers=office))["follow_ups"] == []


def test_a_registry_system_neither_reads_nor_calls_back_a_bad_rating(
    client: TestClient, container: Container
) -> None:
    """The families' complaints are read and answered by people: the unit's own registry
    system (an office token of kind system) is refused as a role that may not call is."""
    case_id = notify(container, "MR-RATE-3")
    complete(container, case_id)
    container.ledger.rate(RateService(case_id, 2, COMMENT))
    container.after_command()
    unit = container.ledger.get_case(case_id).rated_unit
    assert unit is not None
    _, token = container.actors.add(
        "office", unit.locality, unit.authority, "registry system", kind="system"
    )
    system = {"Authorization": f"Bearer {token}"}
    url = f"/cases/{case_id}/call-backs"

    listed = client.get("/follow-ups", headers=system)
    assert (listed.status_code, listed.json()["type"]) == (404, "/problems/not-found")
    assert COMMENT not in listed.text
    called = client.post(url, json={"outcome": "fixed"}, headers=system)
    assert (called.status_code, called.json()["type"]) == (404, "/problems/not-found")
    events = container.ledger.events.get(case_id)
    assert not [e for e in events if type(e).__name__ == "CalledBack"]
    clerk = bearer(container, "office", unit.locality, unit.authority)
    (item,) = ok(client.get("/follow-ups", headers=clerk))["follow_ups"]
    assert item["comment"] == COMMENT
    ok(client.post(url, json={"outcome": "fixed"}, headers=clerk), 201)
