"""Issue 22's done-when "the monitor shows the new matters in its figures and flows", with the
real wings over HTTP on SQLite and PostgreSQL: an ID card applied for at a Jiaxing window for a
Wuhan hukou and a marriage registered in Haiyan for a couple with hukou in Jiangsu and Anhui.
Hand count: the ID card's production is received in Jiaxing (Zhejiang) and handled in Wuhan
(Hubei), its temporary card handled in Jiaxing; each marital status check is received in
Haiyan (Zhejiang) and handled at the party's hukou county (Jiangsu, Anhui). Each window
receives its request the same day; the Wuhan office approves the card."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest

JIAXING, WUHAN, HAIYAN, XUANWU, SHUSHAN = "330402", "420102", "330424", "320102", "340104"
CARD_HOLDER = make_citizen_id(WUHAN, date(1994, 3, 8), 13)
ID_CARD = {
    "name": "李雷",
    "citizen_id": CARD_HOLDER,
    "hukou_division": WUHAN,
    "reason": "first",
    "identity_document": "household-register",
    "temporary_id_card": True,
}
COUPLE = {
    "party_a": {"name": "张伟", "citizen_id": make_citizen_id(XUANWU, date(1995, 4, 2), 11),
                "hukou_division": XUANWU, "residence_division": HAIYAN},
    "party_b": {"name": "王芳", "citizen_id": make_citizen_id(SHUSHAN, date(1996, 9, 1), 22),
                "hukou_division": SHUSHAN, "residence_division": HAIYAN},
    "registration_place": "residence-permit",
    "permit_holder": "b",
}  # fmt: skip


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}  # none: an online applicant


def post(client: TestClient, token: str, path: str, body: Any, status: int = 200) -> Any:
    answer = client.post(path, json=body, headers=bearer(token))
    assert answer.status_code == status, answer.text
    return answer.json()


def receive(client: TestClient, token: str, case_id: str, service: str) -> str:
    request_id = str(ServiceRequest.create_id(UUID(case_id), service))
    post(client, token, f"/service-requests/{request_id}/receive", {"receipt_number": "R-1"})
    return request_id


def matters(client: TestClient, token: str, code: str, month: str) -> dict[str, Any]:
    answer = client.get(f"/monitoring/localities/{code}?month={month}", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return {m["kind"]: m for m in answer.json()["matters"]}


def test_the_monitor_counts_marriages_and_id_cards(
    container: Container, client: TestClient
) -> None:
    _, jiaxing = container.actors.add("office", JIAXING, "public-security")
    _, wuhan = container.actors.add("office", WUHAN, "public-security")
    _, haiyan = container.actors.add("office", HAIYAN, "civil-affairs")
    _, national = container.actors.add("monitor", "national")
    _, zhejiang = container.actors.add("monitor", "33")
    _, hubei = container.actors.add("monitor", "42")

    card = post(client, jiaxing, "/id-card-applications", ID_CARD, 201)["case_id"]
    marriage = post(client, "", "/marriage-registrations", COUPLE, 201)["case_id"]
    container.after_command()
    production = receive(client, jiaxing, card, "id-card-production")
    receive(client, jiaxing, card, "temporary-id-card")
    receive(client, haiyan, marriage, "marital-status-check-a")
    receive(client, haiyan, marriage, "marital-status-check-b")
    start = container.ledger.today()  # a 32-year-old's card: valid 20 years (Art. 5)
    if (start.month, start.day) == (2, 29):
        start = start.replace(day=28)
    record = f"{CARD_HOLDER}/{start:%Y%m%d}-{start.replace(year=start.year + 20):%Y%m%d}"
    post(client, wuhan, f"/service-requests/{production}/approve", {"id_card_record": record})
    container.after_command()
    month = container.ledger.today().isoformat()[:7]

    # Wuhan handled the card's production: received and approved there (Hubei's monitor sees it)
    at_wuhan = matters(client, hubei, "42", month)
    assert set(at_wuhan) == {"id-card"}
    assert at_wuhan["id-card"]["name_zh"] == "居民身份证异地办理"
    assert (at_wuhan["id-card"]["received"], at_wuhan["id-card"]["approved"]) == (1, 1)
    # Jiaxing handles the temporary card; Zhejiang's figures hold no check (handled elsewhere)
    in_zhejiang = matters(client, zhejiang, "33", month)
    assert set(in_zhejiang) == {"id-card"}
    assert [(s["service"], s["received"]) for s in in_zhejiang["id-card"]["services"]] == [
        ("temporary-id-card", 1)
    ]
    assert set(matters(client, national, "32", month)) == {"marriage"}  # Xuanwu's check
    assert matters(client, national, "34", month)["marriage"]["received"] == 1  # Shushan's

    flows = client.get(f"/monitoring/matter-flows?month={month}", headers=bearer(national))
    assert flows.status_code == 200, flows.text
    counted = {
        (f["kind"], f["service"], f["receiving_province"], f["handling_province"]): (
            f["received"],
            f["decided"],
        )
        for f in flows.json()["flows"]
    }
    assert counted == {
        ("id-card", "id-card-production", "33", "42"): (1, 1),
        ("id-card", "temporary-id-card", "33", "33"): (1, 0),
        ("marriage", "marital-status-check-a", "33", "32"): (1, 0),
        ("marriage", "marital-status-check-b", "33", "34"): (1, 0),
    }
    mine = client.get(f"/monitoring/matter-flows?month={month}", headers=bearer(hubei))
    assert [f["service"] for f in mine.json()["flows"]] == ["id-card-production"]
