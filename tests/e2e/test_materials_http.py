"""Issue 21's materials over HTTP, on SQLite and PostgreSQL: the monitor's figure for the
month matches a hand count of a scripted set of cases; the office sees a request's materials
on GET /service-requests/{id}; the family sees its case's in its case view.

The cases (make_facts: born in Yueyang 430602, the mother's hukou in Wuhan 420102; the
hukou request is received at the Yueyang window and handled in Wuhan, so across provinces):

* Case 1 is completed: birth certificate and vaccination in 430602; hukou, medical insurance
  and social security card in 420102.
* Case 2: its birth certificate is received; its vaccination gets a one-time notice before
  receipt, the family answers it with 2 items, then it is received.

Counted by hand from domain/births/reference/materials.json (S = shared, C = e-certificate,
F = family, of which A = in the one application):

| place  | request                    | required | S | C | F          | A |
|--------|----------------------------|----------|---|---|------------|---|
| 430602 | 1 birth certificate        | 4        | 1 | 0 | 3          | 1 |
| 430602 | 1 vaccination              | 4        | 2 | 1 | 1          | 1 |
| 430602 | 2 birth certificate        | 4        | 1 | 0 | 3          | 1 |
| 430602 | 2 vaccination (+2 notice)  | 4 + 2    | 2 | 1 | 1 + 2      | 1 |
| 420102 | 1 hukou (cross-province)   | 8        | 2 | 1 | 5          | 1 |
| 420102 | 1 medical insurance        | 5        | 1 | 2 | 2          | 1 |
| 420102 | 1 social security card     | 4        | 1 | 2 | 1          | 0 |

Yueyang: 18 required, 10 by families (2 on notice, 4 in the application), 8 by sharing
(6 shared, 2 e-certificates). Wuhan: 17 required, 8 by families, 9 by sharing (4 + 5).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.kernel.service_request import ServiceRequest
from tests.conftest import CST, make_facts, office_step
from tests.e2e.test_monitor_follow_ups import bearer, complete, notify, ok, step

YUEYANG = {
    "required": 18,
    "by_family": 10,
    "by_sharing": 8,
    "shared": 6,
    "certificate": 2,
    "in_application": 4,
    "on_notice": 2,
    "sharing_rate": 0.4444,
}
WUHAN = {
    "required": 17,
    "by_family": 8,
    "by_sharing": 9,
    "shared": 4,
    "certificate": 5,
    "in_application": 2,
    "on_notice": 0,
    "sharing_rate": 0.5294,
}
EMPTY = dict.fromkeys(YUEYANG, 0) | {"sharing_rate": None}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def scripted(container: Container) -> tuple[UUID, UUID]:
    first = notify(container, "MR-MAT-1")
    complete(container, first)
    second = notify(container, "MR-MAT-2")
    step(container, second, "birth-certificate", "receive")
    vaccination = ServiceRequest.create_id(second, "vaccination")
    items = ("出生医学证明复印件", "监护人身份证明")
    office_step(container.ledger, vaccination, "request-supplement", "office:t", items=items)
    office_step(container.ledger, vaccination, "supplement", "family", items=items)
    container.after_command()
    step(container, second, "vaccination", "receive")
    return first, second


def materials(client: TestClient, code: str, headers: dict[str, str], month: str) -> Any:
    answer = client.get(f"/monitoring/localities/{code}", params={"month": month}, headers=headers)
    return ok(answer)["materials"]


def test_the_months_materials_match_a_hand_count(client: TestClient, container: Container) -> None:
    scripted(container)
    month = datetime.now(CST).strftime("%Y-%m")
    hunan, hubei = bearer(container, "monitor", "43"), bearer(container, "monitor", "42")
    for code in ("430602", "4306", "430600", "43"):
        assert materials(client, code, hunan, month) == YUEYANG, code
    for code in ("420102", "4201", "42"):
        assert materials(client, code, hubei, month) == WUHAN, code
    assert materials(client, "430602", hunan, "2020-01") == EMPTY
    national = bearer(container, "monitor", "national")
    assert materials(client, "42", national, month)["required"] == 17


def test_the_office_sees_what_sharing_satisfied_and_what_the_family_supplied(
    client: TestClient, container: Container
) -> None:
    first, second = scripted(container)
    hukou = ServiceRequest.create_id(first, "household-registration")
    wuhan = bearer(container, "office", "420102", "public-security")
    view = ok(client.get(f"/service-requests/{hukou}", headers=wuhan))
    shown = view["materials"]
    assert shown["source"].startswith("Domain reference §1.1 S3")
    by_code = {m["code"]: m for m in shown["required"]}
    assert list(by_code) == [
        "birth-certificate",
        "mother-id",
        "father-id",
        "household-choice",
        "hukou-booklet",
        "marriage-certificate",
        "residence-permit",
        "commitment-letter",
    ]
    assert by_code["birth-certificate"]["from"] == {
        "service": "birth-certificate",
        "result": "certificate_number",
    }
    assert by_code["birth-certificate"]["satisfied"] is True  # the result was dispatched
    assert by_code["mother-id"]["satisfied"] is True
    assert by_code["father-id"]["satisfied"] is False  # the birth record names no father
    assert shown["counts"]["required"] == 8
    assert str(make_facts().mother.citizen_id) not in str(shown)  # field names, never values
    vaccination = ServiceRequest.create_id(second, "vaccination")
    yueyang = bearer(container, "office", "430602", "cdc")
    answered = ok(client.get(f"/service-requests/{vaccination}", headers=yueyang))["materials"]
    assert answered["supplied_on_notice"] == [
        {"items": ["出生医学证明复印件", "监护人身份证明"], "evidence": []}
    ]
    assert (answered["counts"]["by_family"], answered["counts"]["on_notice"]) == (3, 2)


def test_the_family_sees_its_cases_materials(client: TestClient, container: Container) -> None:
    first, _ = scripted(container)
    code = container.ledger.get_case(first).tracking_code
    verifier = make_facts().mother.phone
    signed_in = ok(client.post("/track", json={"tracking_code": code, "verifier": verifier}), 201)
    family = {"Authorization": f"Bearer {signed_in['token']}"}
    view = ok(client.get(f"/cases/{first}", headers=family))
    shown = view["materials"]
    assert [s["service"] for s in shown["services"]] == [
        "birth-certificate",
        "vaccination",
        "household-registration",
        "medical-insurance",
        "social-security-card",
    ]
    # the case's own Wenzhou measure: 25 required, 13 spared by sharing
    assert shown["counts"] == {
        "required": 25,
        "by_sharing": 13,
        "shared": 7,
        "certificate": 6,
        "by_family": 12,
        "in_application": 4,
        "on_notice": 0,
    }
    admin = bearer(container, "admin", None)
    assert ok(client.get(f"/cases/{first}", headers=admin))["materials"] == shown


def test_a_notice_counts_what_the_office_asked_alike_for_office_and_monitor(
    client: TestClient, container: Container
) -> None:
    """The hukou request (across provinces: 8 listed, 3 by sharing) gets a notice naming the
    hukou booklet three ways and the residence permit (both listed) and one paper the list
    does not name; the family answers with free text. Counted: 3 on notice, 1 more
    required (the family's), in the office's view and the monitor's figure alike."""
    case_id = notify(container, "MR-MAT-3")
    step(container, case_id, "birth-certificate", "receive")
    step(container, case_id, "birth-certificate", "approve")
    hukou = ServiceRequest.create_id(case_id, "household-registration")
    step(container, case_id, "household-registration", "receive")
    asked = ("户口簿", "户口簿", "hukou-booklet", "居住证", "亲子鉴定意见书")
    office_step(container.ledger, hukou, "request-supplement", "office:t", items=asked)
    answer = ("户口簿", "户口簿", "hukou-booklet", "照片", "其他")
    office_step(container.ledger, hukou, "supplement", "family", items=answer)
    container.after_command()
    wuhan = bearer(container, "office", "420102", "public-security")
    shown = ok(client.get(f"/service-requests/{hukou}", headers=wuhan))["materials"]
    assert shown["counts"] == {
        "required": 9,
        "by_sharing": 3,
        "shared": 2,
        "certificate": 1,
        "by_family": 6,
        "in_application": 1,
        "on_notice": 3,
    }
    month = datetime.now(CST).strftime("%Y-%m")
    figure = materials(client, "420102", bearer(container, "monitor", "42"), month)
    assert figure == {
        "required": 9,
        "by_family": 6,
        "by_sharing": 3,
        "shared": 2,
        "certificate": 1,
        "in_application": 1,
        "on_notice": 3,
        "sharing_rate": 0.3333,
    }


def family_headers(client: TestClient, container: Container, case_id: UUID) -> dict[str, str]:
    code = container.ledger.get_case(case_id).tracking_code
    verifier = make_facts().mother.phone
    signed_in = ok(client.post("/track", json={"tracking_code": code, "verifier": verifier}), 201)
    return {"Authorization": f"Bearer {signed_in['token']}"}


def test_the_family_counts_a_notice_as_its_office_does(
    client: TestClient, container: Container
) -> None:
    """Two requests with an answered one-time notice: case 2's vaccination (2 items no listed
    material names) and a hukou request whose notice names two listed materials (the hukou
    booklet three ways, the residence permit) and one paper the list does not name. The
    family's case view counts each request as the office's view of it does (one kernel
    function: domain/kernel/materials.py, request_counts), and the case's counts add them."""
    _, second = scripted(container)
    hukou_case = notify(container, "MR-MAT-4")
    step(container, hukou_case, "birth-certificate", "receive")
    step(container, hukou_case, "birth-certificate", "approve")
    step(container, hukou_case, "household-registration", "receive")
    hukou = ServiceRequest.create_id(hukou_case, "household-registration")
    asked = ("户口簿", "户口簿", "hukou-booklet", "居住证", "亲子鉴定意见书")
    office_step(container.ledger, hukou, "request-supplement", "office:t", items=asked)
    office_step(container.ledger, hukou, "supplement", "family", items=("户口簿", "照片"))
    container.after_command()
    cases = [
        (second, "vaccination", bearer(container, "office", "430602", "cdc"), (6, 3, 2)),
        (hukou_case, "household-registration", bearer(container, "office", "420102",
         "public-security"), (9, 6, 3)),
    ]  # fmt: skip
    for case_id, service, office, (required, by_family, on_notice) in cases:
        request_id = ServiceRequest.create_id(case_id, service)
        by_office = ok(client.get(f"/service-requests/{request_id}", headers=office))
        view = ok(
            client.get(f"/cases/{case_id}", headers=family_headers(client, container, case_id))
        )
        shown = {s["service"]: s for s in view["materials"]["services"]}
        counts = by_office["materials"]["counts"]
        assert shown[service]["service_request_id"] == str(request_id)
        assert shown[service]["counts"] == counts, service
        assert (counts["required"], counts["by_family"], counts["on_notice"]) == (
            required, by_family, on_notice
        )  # fmt: skip
        totals = view["materials"]["counts"]
        for key in counts:  # the case's counts: the sums of its services'
            assert totals[key] == sum(s["counts"][key] for s in shown.values()), key
        assert totals["on_notice"] == on_notice
