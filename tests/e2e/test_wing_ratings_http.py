"""Issue 22's "the same ratings apply" over HTTP, on SQLite and PostgreSQL: the applicants of a
marriage registered in Haiyan (hukou in Xuanwu and Shushan) and of an ID card applied for in
Jiaxing (Wuhan hukou) sign in at /track and rate their ended cases at POST /cases/{id}/rating.
Hand count: the marriage's last decision is its registration (Haiyan 330424, civil-affairs),
rated 5; the ID card's is the card's collection at the Jiaxing window (330402,
public-security), rated 2, a bad rating that unit calls back. Both units are in Zhejiang (33)
and its city Jiaxing (3304): 2 ratings, sum 7, 1 bad, whose follow-up is the ID card's."""

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
PS, CA = "public-security", "civil-affairs"
CARD_HOLDER = make_citizen_id(WUHAN, date(1994, 3, 8), 13)
ID_CARD = {
    "name": "李雷",
    "citizen_id": CARD_HOLDER,
    "hukou_division": WUHAN,
    "reason": "first",
    "identity_document": "household-register",
    "temporary_id_card": False,
}
A_ID = make_citizen_id(XUANWU, date(1995, 4, 2), 11)
COUPLE = {
    "party_a": {"name": "张伟", "citizen_id": A_ID, "hukou_division": XUANWU,
                "residence_division": HAIYAN},
    "party_b": {"name": "王芳", "citizen_id": make_citizen_id(SHUSHAN, date(1996, 9, 1), 22),
                "hukou_division": SHUSHAN, "residence_division": HAIYAN},
    "registration_place": "residence-permit",
    "permit_holder": "b",
}  # fmt: skip
COMMENT = "等了很久才拿到身份证"


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


def act(client: TestClient, token: str, case_id: str, service: str, action: str, body: Any) -> None:
    request_id = ServiceRequest.create_id(UUID(case_id), service)
    post(client, token, f"/service-requests/{request_id}/{action}", body)


def track(client: TestClient, code: str, verifier: str) -> str:
    token: str = post(client, "", "/track", {"tracking_code": code, "verifier": verifier}, 201)[
        "token"
    ]
    return token


def rate(client: TestClient, token: str, case_id: str, body: Any) -> Any:
    return client.post(f"/cases/{case_id}/rating", json=body, headers=bearer(token))


def refused(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["type"].endswith(code), answer.text


def figures(client: TestClient, token: str, code: str, month: str) -> dict[str, Any]:
    answer = client.get(f"/monitoring/localities/{code}?month={month}", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_the_applicants_rate_a_marriage_and_an_id_card_counted_in_their_units(
    container: Container, client: TestClient
) -> None:
    _, jiaxing = container.actors.add("office", JIAXING, PS)
    _, wuhan = container.actors.add("office", WUHAN, PS)
    _, haiyan = container.actors.add("office", HAIYAN, CA)
    _, xuanwu = container.actors.add("office", XUANWU, CA)
    _, shushan = container.actors.add("office", SHUSHAN, CA)
    _, zhejiang = container.actors.add("monitor", "33")
    _, hubei = container.actors.add("monitor", "42")

    married = post(client, "", "/marriage-registrations", COUPLE, 201)
    card = post(client, jiaxing, "/id-card-applications", ID_CARD, 201)
    marriage_id, card_id = married["case_id"], card["case_id"]
    container.after_command()
    couple = track(client, married["tracking_code"], A_ID[-6:])
    holder = track(client, card["tracking_code"], CARD_HOLDER[-6:])

    # not yet ended: nothing to rate (as a newborn case before it completes)
    refused(rate(client, couple, marriage_id, {"score": 5}), 409, "rating-not-allowed")
    refused(rate(client, holder, card_id, {"score": 2}), 409, "rating-not-allowed")

    for check in ("marital-status-check-a", "marital-status-check-b"):
        act(client, haiyan, marriage_id, check, "receive", {"receipt_number": "HY-1"})
    act(client, xuanwu, marriage_id, "marital-status-check-a", "approve",
        {"marital_status_record_a": "XW-HY-2026-0007"})  # fmt: skip
    act(client, shushan, marriage_id, "marital-status-check-b", "approve",
        {"marital_status_record_b": "SS-HY-2026-0042"})  # fmt: skip
    container.after_command()
    act(client, haiyan, marriage_id, "marriage-registration", "receive", {"receipt_number": "HY-2"})
    act(client, haiyan, marriage_id, "marriage-registration", "approve",
        {"marriage_certificate_number": "J330424-2026-000123"})  # fmt: skip

    act(client, jiaxing, card_id, "id-card-production", "receive", {"receipt_number": "JX-1"})
    start = container.ledger.today()  # a 32-year-old's card: valid 20 years (Art. 5)
    if (start.month, start.day) == (2, 29):
        start = start.replace(day=28)
    record = f"{CARD_HOLDER}/{start:%Y%m%d}-{start.replace(year=start.year + 20):%Y%m%d}"
    act(client, wuhan, card_id, "id-card-production", "approve", {"id_card_record": record})
    container.after_command()
    act(client, jiaxing, card_id, "id-card-delivery", "receive", {"receipt_number": "JX-ARR-1"})
    act(client, jiaxing, card_id, "id-card-delivery", "approve",
        {"collection_receipt": "JX-LQ-2026-0001"})  # fmt: skip
    container.after_command()

    # another case's token: as a case that does not exist
    refused(rate(client, couple, card_id, {"score": 1}), 404, "not-found")
    refused(rate(client, holder, marriage_id, {"score": 1}), 404, "not-found")
    # ended: each rated once; a second rating is refused
    assert rate(client, couple, marriage_id, {"score": 5}).json() == {
        "case_id": marriage_id,
        "score": 5,
    }
    assert rate(client, holder, card_id, {"score": 2, "comment": COMMENT}).status_code == 201
    refused(rate(client, couple, marriage_id, {"score": 4}), 409, "rating-not-allowed")
    refused(rate(client, holder, card_id, {"score": 2}), 409, "rating-not-allowed")
    container.after_command()

    # the ratings are on the cases, each with the unit its last decision implies
    rated = container.ledger.rated_case(UUID(card_id))
    assert rated.rating == 2
    assert rated.rated_unit is not None
    assert (rated.rated_unit.locality, rated.rated_unit.authority) == (JIAXING, PS)
    assert rated.rated_unit.service == "id-card-delivery"

    # the monitor counts them in their units' places, the bad one among the follow-ups
    month = container.ledger.today().isoformat()[:7]
    for place in ("33", "3304"):
        shown = figures(client, zhejiang, place, month)
        assert (shown["ratings"], shown["average_rating"], shown["bad_ratings"]) == (2, 3.5, 1)
        assert [f["case_id"] for f in shown["follow_ups"]] == [card_id]
    at_haiyan = figures(client, zhejiang, HAIYAN, month)
    assert (at_haiyan["ratings"], at_haiyan["bad_ratings"], at_haiyan["follow_ups"]) == (1, 0, [])
    (follow_up,) = figures(client, zhejiang, JIAXING, month)["follow_ups"]
    assert (follow_up["score"], follow_up["service"], follow_up["authority"]) == (
        2,
        "id-card-delivery",
        PS,
    )
    assert follow_up["comment"] == COMMENT
    assert follow_up["due"] > follow_up["rated_at"][:10]  # working days from the rating
    in_hubei = figures(client, hubei, "42", month)  # Wuhan made the card: it did not end it
    assert (in_hubei["ratings"], in_hubei["follow_ups"]) == (0, [])

    # the unit's office sees it to call back, and records the call-back on the case
    mine = client.get("/follow-ups", headers=bearer(jiaxing))
    assert [(f["case_id"], f["comment"]) for f in mine.json()["follow_ups"]] == [(card_id, COMMENT)]
    assert client.get("/follow-ups", headers=bearer(haiyan)).json()["follow_ups"] == []
    url = f"/cases/{card_id}/call-backs"
    assert (
        client.post(url, json={"outcome": "explained"}, headers=bearer(haiyan)).status_code == 404
    )
    post(client, jiaxing, url, {"outcome": "explained", "note": "已致电说明"}, 201)
    good = client.post(f"/cases/{marriage_id}/call-backs", json={"outcome": "fixed"},
                       headers=bearer(haiyan))  # fmt: skip
    assert good.status_code == 404  # a good rating has nothing to call back
    container.after_command()
    (done,) = client.get("/follow-ups", headers=bearer(jiaxing)).json()["follow_ups"]
    assert (done["call_backs"], done["outcome"], done["called_back_by"]) == (
        1,
        "explained",
        "office",
    )
    assert all(not parked for parked in container.parked().values())
