"""Issue 22's monitor part over HTTP, on SQLite and PostgreSQL: every wing's requests counted
per matter and service at county, city and province, and in the flows from the receiving
province to the handling one; a province's monitor sees only the flows touching it.

The scenario, counted by hand below. Two births in Yueyang (430602), the mother's hukou in
Wuhan Jiang'an (420102): the first case's birth certificate and vaccination are received and
approved in Yueyang, its household registration received in Yueyang and approved in Wuhan
(off-site), its medical insurance received in Wuhan (not decided yet); the second case's
birth certificate is received and rejected in Yueyang. One residence permit case of the
test wing (tests/wings/permits, carried with `registered`) in Shenzhen Futian (440304): the
registration received and approved, the permit received.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

import httpx2
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from domain.births.commands import NotifyBirth
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest
from domain.wings import registered
from tests.conftest import CST, RESULTS, make_facts
from tests.wings.permits.services import ApplyForPermit, apply_for_permit
from tests.wings.permits.wing import PERMITS

YUEYANG, WUHAN, FUTIAN = "430602", "420102", "440304"
APPLICANT = ApplyForPermit(
    name="李雷",
    citizen_id=make_citizen_id(WUHAN, date(1994, 3, 8), 13),
    hukou_division=WUHAN,
    residence_division=FUTIAN,
)
BIRTH, PERMIT = "birth", "residence-permit"
# (received, decided, approved, rejected, on time) per matter and per service, by hand
YUEYANG_BIRTHS = {
    "birth-certificate": (2, 2, 1, 1, 2),
    "vaccination": (1, 1, 1, 0, 1),
}
WUHAN_BIRTHS = {
    "household-registration": (1, 1, 1, 0, 1),
    "medical-insurance": (1, 0, 0, 0, 0),
}
FUTIAN_PERMITS = {
    "residence-registration": (1, 1, 1, 0, 1),
    "residence-permit": (1, 0, 0, 0, 0),
}
# (kind, service, receiving province, handling province): (received, decided, cross-province)
FLOWS = {
    (BIRTH, "birth-certificate", "43", "43"): (2, 2, False),
    (BIRTH, "vaccination", "43", "43"): (1, 1, False),
    (BIRTH, "household-registration", "43", "42"): (1, 1, True),
    (BIRTH, "medical-insurance", "42", "42"): (1, 0, False),
    (PERMIT, "residence-registration", "44", "44"): (1, 1, False),
    (PERMIT, "residence-permit", "44", "44"): (1, 0, False),
}


@pytest.fixture
def carried(settings: Settings) -> Iterator[Container]:
    """A ledger carrying the permits wing besides births, on each production store."""
    with registered(PERMITS):
        container = build(settings)
        try:
            yield container
        finally:
            container.close()


@pytest.fixture
def client(carried: Container) -> Iterator[TestClient]:
    with TestClient(create_app(carried, close_on_shutdown=False)) as test_client:
        yield test_client


def bearer(
    container: Container, role: str, scope: str | None, authority: str | None = None
) -> dict[str, str]:
    return {"Authorization": f"Bearer {container.actors.add(role, scope, authority)[1]}"}


def ok(response: httpx2.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def act(
    client: TestClient, container: Container, request_id: UUID, action: str, body: dict[str, Any]
) -> None:
    """One office step over HTTP by the office the action belongs to: the receiving window
    receives, the handling office decides."""
    request = container.ledger.get_request(request_id)
    side = request.receiving_locality if action == "receive" else request.handling_locality
    headers = bearer(container, "office", side, request.route.authority)
    ok(client.post(f"/service-requests/{request_id}/{action}", json=body, headers=headers))
    container.after_command()


def receive(client: TestClient, container: Container, case_id: UUID, service: str) -> UUID:
    request_id = ServiceRequest.create_id(case_id, service)
    assert container.ledger.get_request(request_id).state == "dispatched", service
    act(client, container, request_id, "receive", {"receipt_number": f"R-{service}"})
    return request_id


def the_scenario(client: TestClient, container: Container) -> None:
    first = notify(container, "MR-M1")
    for service in ("birth-certificate", "vaccination", "household-registration"):
        request_id = receive(client, container, first, service)
        act(client, container, request_id, "approve", RESULTS[service])
    receive(client, container, first, "medical-insurance")
    second = notify(container, "MR-M2")
    rejected = receive(client, container, second, "birth-certificate")
    reasons = {"reason": "出生医学证明信息不一致", "basis": "《出生医学证明》管理办法"}
    act(client, container, rejected, "reject", reasons)
    permit = apply_for_permit(container.ledger, APPLICANT)
    container.after_command()
    registration = receive(client, container, permit, "residence-registration")
    result = {"residence_registration_number": "SZ-FT-2026-0009"}
    act(client, container, registration, "approve", result)
    receive(client, container, permit, "residence-permit")


def notify(container: Container, ref: str) -> UUID:
    facts = make_facts(ref, child_name="王小雨")
    case_id = container.ledger.notify_birth(NotifyBirth(f"m-{ref}", facts)).case_id
    container.after_command()
    return case_id


def month() -> str:
    return datetime.now(CST).strftime("%Y-%m")


def matters_at(client: TestClient, code: str, headers: dict[str, str]) -> dict[str, Any]:
    """The place's figures, its matters by kind and their services by code."""
    answer = ok(
        client.get(f"/monitoring/localities/{code}", params={"month": month()}, headers=headers)
    )
    by_kind = {m["kind"]: m for m in answer["matters"]}
    for matter in by_kind.values():
        matter["services"] = {s["service"]: s for s in matter["services"]}
    return {"figures": answer, "matters": by_kind}


def counted(item: dict[str, Any]) -> tuple[int, ...]:
    return tuple(item[k] for k in ("received", "decided", "approved", "rejected", "on_time"))


def totals(services: Mapping[str, tuple[int, ...]]) -> tuple[int, ...]:
    return tuple(sum(column) for column in zip(*services.values(), strict=True))


def flows(
    client: TestClient, headers: dict[str, str], **params: str
) -> dict[tuple[str, ...], tuple[Any, ...]]:
    answer = ok(
        client.get("/monitoring/matter-flows", params={"month": month(), **params}, headers=headers)
    )
    assert answer["month"] == month()
    return {
        (f["kind"], f["service"], f["receiving_province"], f["handling_province"]): (
            f["received"],
            f["decided"],
            f["cross_province"],
        )
        for f in answer["flows"]
    }


def test_every_wing_counts_per_matter_at_each_level_and_in_the_flows(
    client: TestClient, carried: Container
) -> None:
    the_scenario(client, carried)
    national = bearer(carried, "monitor", "national")
    expected = {
        (YUEYANG, "4306", "43"): {BIRTH: YUEYANG_BIRTHS},
        (WUHAN, "4201", "42"): {BIRTH: WUHAN_BIRTHS},
        (FUTIAN, "4403", "44"): {PERMIT: FUTIAN_PERMITS},
    }
    for places, kinds in expected.items():
        for place in places:
            found = matters_at(client, place, national)
            assert set(found["matters"]) == set(kinds), place
            for kind, services in kinds.items():
                matter = found["matters"][kind]
                assert counted(matter) == totals(services), (place, kind)
                assert {s: counted(v) for s, v in matter["services"].items()} == services
            # every wing's requests: the matters add up to the place's figures
            figures = found["figures"]
            assert sum(m["received"] for m in found["matters"].values()) == figures["received"]
            assert sum(m["decided"] for m in found["matters"].values()) == figures["decided"]
    births = matters_at(client, "43", national)["matters"][BIRTH]
    assert (births["name_zh"], births["name_en"], births["on_time_rate"]) == (
        "出生一件事",
        "Newborn one thing",
        1.0,
    )
    assert births["services"]["vaccination"]["name_zh"] == "预防接种证办理"
    permits = matters_at(client, "44", national)["matters"][PERMIT]
    assert (permits["name_zh"], permits["services"]["residence-permit"]["name_en"]) == (
        "居住证办理",
        "Residence permit",
    )
    assert flows(client, national) == FLOWS
    assert flows(client, national, kind=PERMIT) == {
        k: v for k, v in FLOWS.items() if k[0] == PERMIT
    }


def test_a_province_monitor_sees_only_the_flows_touching_its_province(
    client: TestClient, carried: Container
) -> None:
    the_scenario(client, carried)
    for province in ("43", "42", "44"):
        seen = flows(client, bearer(carried, "monitor", province))
        assert seen == {k: v for k, v in FLOWS.items() if province in k[2:]}, province
    assert (BIRTH, "medical-insurance", "42", "42") not in flows(
        client, bearer(carried, "monitor", "43")
    )
    assert flows(client, bearer(carried, "admin", None)) == FLOWS
    hunan = bearer(carried, "monitor", "43")
    outside = client.get("/monitoring/localities/44", params={"month": month()}, headers=hunan)
    assert outside.status_code == 404, outside.text


def test_the_flows_answer_problems_as_the_other_monitor_routes_do(
    client: TestClient, carried: Container
) -> None:
    national = bearer(carried, "monitor", "national")
    bad_month = client.get(
        "/monitoring/matter-flows", params={"month": "2026-13"}, headers=national
    )
    assert (bad_month.status_code, bad_month.json()["parameter"]) == (422, "month")
    bad_kind = client.get(
        "/monitoring/matter-flows",
        params={"month": month(), "kind": "no-such-matter"},
        headers={**national, "Accept-Language": "zh-CN"},
    )
    assert (bad_kind.status_code, bad_kind.json()["parameter"]) == (422, "kind")
    assert "事项" in bad_kind.json()["detail"]
    assert client.get("/monitoring/matter-flows").status_code == 401
    office = bearer(carried, "office", YUEYANG, "health")
    assert client.get("/monitoring/matter-flows", headers=office).status_code == 404
    empty = ok(
        client.get("/monitoring/matter-flows", params={"month": "2020-01"}, headers=national)
    )
    assert empty == {"month": "2020-01", "kind": None, "flows": []}
