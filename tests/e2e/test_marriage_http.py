"""Issue 22's done-when for marriage, over HTTP on SQLite and PostgreSQL: a couple with hukou
in Jiangsu (Xuanwu) and Anhui (Shushan) registers in Haiyan (330424), where party B's
residence permit was issued. Haiyan's civil-affairs office receives both marital status
checks; Xuanwu's clerk answers one over the office routes, Shushan's registry system the other
with its token; Haiyan registers the marriage with a valid certificate number; the case
completes, the certificate verifies at POST /verify, the applicants sign in at /track and see
it, and each hukou office saw only its own party. A couple with a hukou outside the 21 pilot
provinces waits at the routing desk."""

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

HAIYAN, XUANWU, SHUSHAN, NANMING = "330424", "320102", "340104", "520102"
A_ID = make_citizen_id(XUANWU, date(1995, 4, 2), 11)
B_ID = make_citizen_id(SHUSHAN, date(1996, 9, 1), 22)
COUPLE = {
    "party_a": {"name": "张伟", "citizen_id": A_ID, "hukou_division": XUANWU,
                "residence_division": HAIYAN},
    "party_b": {"name": "王芳", "citizen_id": B_ID, "hukou_division": SHUSHAN,
                "residence_division": HAIYAN, "phone": "13900000000"},
    "registration_place": "residence-permit",
    "permit_holder": "b",
}  # fmt: skip
CERTIFICATE = "J330424-2026-000123"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def rid(case_id: str, service: str) -> UUID:
    return ServiceRequest.create_id(UUID(case_id), service)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def office(container: Container, locality: str) -> dict[str, str]:
    _, token = container.actors.add("office", locality, "civil-affairs")
    return bearer(token)


def step(client: TestClient, who: dict[str, str], request_id: str, action: str, body: Any) -> None:
    answer = client.post(f"/service-requests/{request_id}/{action}", json=body, headers=who)
    assert answer.status_code == 200, answer.text


def test_a_marriage_registered_at_the_residence_permit_place(
    client: TestClient, container: Container
) -> None:
    opened = client.post("/marriage-registrations", json=COUPLE)
    assert opened.status_code == 201, opened.text
    case_id, code = opened.json()["case_id"], opened.json()["tracking_code"]
    assert opened.json()["registration_division"] == HAIYAN
    assert opened.json()["follow"]["page"] == "/track"
    container.after_command()
    haiyan, xuanwu = office(container, HAIYAN), office(container, XUANWU)
    registration = container.systems.register(
        container.actors, SHUSHAN, "civil-affairs", None, "marriage registry"
    )
    shushan = bearer(registration.token)
    check_a = str(rid(case_id, "marital-status-check-a"))
    check_b = str(rid(case_id, "marital-status-check-b"))

    seen = client.get(f"/marriage-registrations/{case_id}", headers=haiyan).json()
    assert set(seen["parties"]) == {"party_a", "party_b"}  # the registering office
    assert [(s["service"], s["state"], s["mode"]) for s in seen["services"]] == [
        ("marital-status-check-a", "dispatched", "off-site"),
        ("marital-status-check-b", "dispatched", "off-site"),
        ("marriage-registration", "planned", "online"),  # waits for both checks
    ]
    assert seen["next"]["who"] == f"civil-affairs {HAIYAN}"
    for request_id in (check_a, check_b):  # the window receives; the hukou places decide
        step(client, haiyan, request_id, "receive", {"receipt_number": "HY-1"})
    container.after_command()

    as_a = client.get(f"/marriage-registrations/{case_id}", headers=xuanwu).json()
    assert list(as_a["parties"]) == ["party_a"]  # Xuanwu sees its own party only
    assert [s["service"] for s in as_a["services"]] == ["marital-status-check-a"]
    payload_a = container.ledger.get_request(rid(case_id, "marital-status-check-a")).payload
    assert not [k for k in payload_a if k.startswith("party_b")]
    step(client, xuanwu, check_a, "approve", {"marital_status_record_a": "XW-HY-2026-0007"})
    as_b = client.get(f"/marriage-registrations/{case_id}", headers=shushan).json()
    assert list(as_b["parties"]) == ["party_b"]
    step(client, shushan, check_b, "approve", {"marital_status_record_b": "SS-HY-2026-0042"})
    container.after_command()

    registering = str(rid(case_id, "marriage-registration"))
    request = container.ledger.get_request(rid(case_id, "marriage-registration"))
    assert request.payload["marital_status_record_a"] == "XW-HY-2026-0007"
    assert request.payload["party_a.name"] == "张伟"
    step(client, haiyan, registering, "receive", {"receipt_number": "HY-2"})
    wrong = client.post(
        f"/service-requests/{registering}/approve",
        json={"marriage_certificate_number": "J320102-2026-000123"},
        headers=haiyan,
    )
    assert wrong.status_code == 422, wrong.text
    assert "330424" in wrong.json()["detail"]
    step(client, haiyan, registering, "approve", {"marriage_certificate_number": CERTIFICATE})
    container.after_command()

    signed = client.post("/track", json={"tracking_code": code, "verifier": A_ID[-6:]})
    assert signed.status_code == 201, signed.text
    family = bearer(signed.json()["token"])
    view = client.get(f"/marriage-registrations/{case_id}", headers=family).json()
    assert view["state"] == "completed"
    assert view["next"] is None
    assert view["tracking_code"] == code
    assert view["parties"]["party_a"]["citizen_id"].endswith(A_ID[-4:])
    assert A_ID not in str(view)  # masked for the applicants too
    results = {s["service"]: s["result"] for s in view["services"]}
    assert results["marriage-registration"] == {"marriage_certificate_number": CERTIFICATE}
    listed = client.get(f"/cases/{case_id}/certificates", headers=family)
    assert listed.status_code == 200, listed.text
    [certificate] = listed.json()["certificates"]
    assert certificate["certificate_type"] == "marriage-certificate"
    assert certificate["claims"]["subject"] == {"party_a": "张伟", "party_b": "王芳"}
    verified = client.post("/verify", json={"certificate": certificate["certificate"]})
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "valid"

    stranger = office(container, NANMING)
    assert client.get(f"/marriage-registrations/{case_id}", headers=stranger).status_code == 404
    assert all(not parked for parked in container.parked().values())


def test_a_hukou_outside_the_pilot_waits_at_the_routing_desk(
    client: TestClient, container: Container
) -> None:
    outside = {**COUPLE["party_b"], "hukou_division": NANMING,  # type: ignore[dict-item]
               "citizen_id": make_citizen_id(NANMING, date(1996, 9, 1), 22)}  # fmt: skip
    opened = client.post("/marriage-registrations", json={**COUPLE, "party_b": outside})
    assert opened.status_code == 201, opened.text
    container.after_command()
    case_id = opened.json()["case_id"]
    check_b = container.ledger.get_request(rid(case_id, "marital-status-check-b"))
    assert check_b.route.manual_routing
    assert "pilot provinces" in check_b.route.planned.route_note
    _, coordinator = container.actors.add("coordinator", "52")
    desk = client.get("/routing-desk", headers=bearer(coordinator)).json()
    assert [r["service"] for r in desk["rows"]] == ["marital-status-check-b"]


def test_every_problem_of_the_form_at_once(client: TestClient) -> None:
    bad = {
        "party_a": {"name": "", "citizen_id": "123", "hukou_division": XUANWU,
                    "residence_division": HAIYAN},
        "party_b": {"name": "王芳", "hukou_division": "99", "residence_division": HAIYAN},
        "registration_place": "abroad",
    }  # fmt: skip
    answer = client.post("/marriage-registrations", json=bad, headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 422, answer.text
    pointers = [e["pointer"] for e in answer.json()["errors"]]
    assert pointers == [  # the form's refusals first, then the rules the other fields break
        "/party_a/name",
        "/party_b/citizen_id",
        "/party_a/citizen_id",
        "/party_b/hukou_division",
        "/registration_place",
    ]
    assert answer.json()["title"] != answer.json()["title_en"]  # in Chinese, English beside


def refused_check_a(client: TestClient, container: Container) -> tuple[str, dict[str, str]]:
    """A case whose party A check Xuanwu refused and party B's Shushan approved: its id and
    the applicants' family token."""
    opened = client.post("/marriage-registrations", json=COUPLE)
    assert opened.status_code == 201, opened.text
    case_id, code = opened.json()["case_id"], opened.json()["tracking_code"]
    container.after_command()
    haiyan, xuanwu = office(container, HAIYAN), office(container, XUANWU)
    shushan = office(container, SHUSHAN)
    check_a = str(rid(case_id, "marital-status-check-a"))
    check_b = str(rid(case_id, "marital-status-check-b"))
    for request_id in (check_a, check_b):
        step(client, haiyan, request_id, "receive", {"receipt_number": "HY-1"})
    step(client, shushan, check_b, "approve", {"marital_status_record_b": "SS-HY-2026-0042"})
    refusal = {"reason": "已有配偶", "basis": "婚姻登记条例 第六条"}
    step(client, xuanwu, check_a, "reject", refusal)
    container.after_command()
    signed = client.post("/track", json={"tracking_code": code, "verifier": A_ID[-6:]})
    assert signed.status_code == 201, signed.text
    return case_id, bearer(signed.json()["token"])


def nexts(view: dict[str, Any]) -> dict[str, Any]:
    return {s["service"]: s["next"] for s in view["services"]}


def test_the_applicants_close_a_refused_case_and_get_the_case_back(
    client: TestClient, container: Container
) -> None:
    """Review finding 1 and 4: closing commits and answers 200 with the marriage case (never
    404 after committing), and a closed case names nobody to act."""
    case_id, family = refused_check_a(client, container)
    before = client.get(f"/marriage-registrations/{case_id}", headers=family).json()
    rejection_due = nexts(before)["marital-status-check-a"]["due"]
    assert nexts(before)["marriage-registration"] == {
        "service": "marriage-registration",
        "who": "applicants",
        "action": "resubmit the refused marital-status-check-a or close",
        "due": rejection_due,
    }
    closed = client.post(f"/cases/{case_id}/close", json={"reason": "以后再办"}, headers=family)
    assert closed.status_code == 200, closed.text
    assert closed.json()["kind"] == "marriage"
    assert closed.json()["state"] == "closed"
    container.after_command()
    after = client.get(f"/marriage-registrations/{case_id}", headers=family).json()
    assert after["state"] == "closed"
    assert after["next"] is None
    assert set(nexts(after).values()) == {None}


def test_after_a_resubmission_the_registration_waits_for_the_new_check(
    client: TestClient, container: Container
) -> None:
    """Review finding 4: the blocked registration names the new attempt, not the applicants."""
    case_id, family = refused_check_a(client, container)
    check_a = str(rid(case_id, "marital-status-check-a"))
    again = client.post(f"/service-requests/{check_a}/resubmit", json={}, headers=family)
    assert again.status_code == 200, again.text
    container.after_command()
    view = client.get(f"/marriage-registrations/{case_id}", headers=family).json()
    assert nexts(view)["marriage-registration"] == {
        "service": "marriage-registration",
        "who": "nobody yet",
        "action": "waits for the resubmitted marital-status-check-a (attempt 2)",
        "due": None,
    }
    assert nexts(view)["marital-status-check-a"]["who"] == f"civil-affairs {HAIYAN}"
    assert view["next"] == nexts(view)["marital-status-check-a"]


def test_a_hukou_office_sees_only_the_party_fields_dispatched_to_it(
    client: TestClient, container: Container
) -> None:
    """Review finding 2: Xuanwu was dispatched party A's name, citizen ID and hukou county
    (the catalog's visible fields), never the residence county or the phone."""
    body = {**COUPLE, "party_a": {**COUPLE["party_a"], "phone": "13800000001"}}  # type: ignore[dict-item]
    opened = client.post("/marriage-registrations", json=body)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    container.after_command()
    check_a = str(rid(case_id, "marital-status-check-a"))
    step(client, office(container, HAIYAN), check_a, "receive", {"receipt_number": "HY-1"})
    seen = client.get(f"/marriage-registrations/{case_id}", headers=office(container, XUANWU))
    assert seen.status_code == 200, seen.text
    party = seen.json()["parties"]["party_a"]
    assert set(party) == {"name", "citizen_id", "hukou_division"}
    assert party["hukou_division"] == XUANWU
    assert party["citizen_id"].endswith(A_ID[-4:])
    assert A_ID not in seen.text
    assert "13800000001"[-4:] not in str(party)
    assert HAIYAN not in str(party)


def test_an_online_application_asks_the_registering_office_to_check_identity(
    client: TestClient, container: Container
) -> None:
    """Review (minor): nobody checked an online couple's documents; when the registration
    reaches the registering office, `next` says it checks both parties in person."""
    haiyan = office(container, HAIYAN)
    fresh = client.post("/marriage-registrations", json=COUPLE).json()["case_id"]
    container.after_command()
    for service in ("marital-status-check-a", "marital-status-check-b"):
        step(client, haiyan, str(rid(fresh, service)), "receive", {"receipt_number": "HY-3"})
    step(client, office(container, XUANWU), str(rid(fresh, "marital-status-check-a")),
         "approve", {"marital_status_record_a": "XW-1"})  # fmt: skip
    step(client, office(container, SHUSHAN), str(rid(fresh, "marital-status-check-b")),
         "approve", {"marital_status_record_b": "SS-1"})  # fmt: skip
    container.after_command()
    view = client.get(f"/marriage-registrations/{fresh}", headers=haiyan).json()
    assert view["identity_check"] == "online"
    registration = nexts(view)["marriage-registration"]
    assert registration["who"] == f"civil-affairs {HAIYAN}"
    assert "check both parties' identity documents in person" in registration["action"]


def test_an_unknown_field_is_named_with_every_other_problem(client: TestClient) -> None:
    """Review finding 8: an unknown field no longer hides the other problems, and an unknown
    key inside a party is pointed at by its own name."""
    party_a = {**COUPLE["party_a"], "citizen_id": "123", "nickname": "伟"}  # type: ignore[dict-item]
    body = {**COUPLE, "extra": 1, "party_a": party_a}
    answer = client.post("/marriage-registrations", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"].endswith("/invalid-application")
    pointers = [e["pointer"] for e in answer.json()["errors"]]
    assert sorted(pointers) == ["/extra", "/party_a/citizen_id", "/party_a/nickname"]
    codes = {e["pointer"]: e["code"] for e in answer.json()["errors"]}
    assert codes["/party_a/nickname"] == codes["/extra"] == "unknown-field"


def test_a_junk_permit_holder_is_refused_at_a_hukou_place(client: TestClient) -> None:
    """Review (minor): permit_holder is 'a' or 'b' wherever the couple registers."""
    body = {**COUPLE, "registration_place": "party-a-hukou", "permit_holder": "z"}
    answer = client.post("/marriage-registrations", json=body)
    assert answer.status_code == 422, answer.text
    assert [e["pointer"] for e in answer.json()["errors"]] == ["/permit_holder"]


def test_the_marriage_tracking_code_is_the_ledger_s_injectable_one(
    client: TestClient, container: Container
) -> None:
    """Review (minor): marriage takes its tracking code from ledger.tracking_codes, as the
    ID card wing does, so a deployment or a test can choose them."""
    container.ledger.tracking_codes = lambda: "MARRY2026ABC"
    opened = client.post("/marriage-registrations", json=COUPLE)
    assert opened.status_code == 201, opened.text
    assert opened.json()["tracking_code"] == "MARRY2026ABC"


def test_an_application_that_opens_nothing_does_not_count_against_the_address(
    container: Container,
) -> None:
    """Review (minor): the throttle counted an online application before the case was
    opened; one that fails to open (here the ledger fails) is taken back."""

    def broken() -> str:
        raise RuntimeError("the ledger could not hand out a code")

    with TestClient(create_app(container, close_on_shutdown=False),
                    raise_server_exceptions=False) as test_client:  # fmt: skip
        container.ledger.tracking_codes = broken
        for _ in range(12):
            failed = test_client.post("/marriage-registrations", json=COUPLE)
            assert failed.status_code == 500, failed.text
        container.ledger.tracking_codes = lambda: "MARRY2026XYZ"
        opened = test_client.post("/marriage-registrations", json=COUPLE)
        assert opened.status_code == 201, opened.text


def test_the_track_operation_names_the_applicants(client: TestClient) -> None:
    """Review (minor): /track's OpenAPI text named only the mother's citizen ID."""
    summary = client.get("/openapi.json").json()["paths"]["/track"]["post"]["summary"]
    assert "applicant" in summary


def test_registering_at_a_hukou_place_is_nationwide(
    client: TestClient, container: Container
) -> None:
    """Review finding 7: at party A's hukou place (Xuanwu) with party B's hukou in Guizhou,
    outside the 21 pilot provinces, the check is routed off-site (婚姻登记条例 Art. 4 is
    nationwide: the pilot concerns only the residence permit's place), not to the desk."""
    nanming_b = {**COUPLE["party_b"], "hukou_division": NANMING,  # type: ignore[dict-item]
                 "citizen_id": make_citizen_id(NANMING, date(1996, 9, 1), 22)}  # fmt: skip
    body = {**COUPLE, "party_b": nanming_b, "registration_place": "party-a-hukou"}
    del body["permit_holder"]
    opened = client.post("/marriage-registrations", json=body)
    assert opened.status_code == 201, opened.text
    assert opened.json()["registration_division"] == XUANWU
    container.after_command()
    case_id = opened.json()["case_id"]
    check_b = container.ledger.get_request(rid(case_id, "marital-status-check-b"))
    assert not check_b.route.manual_routing
    assert (check_b.route.mode, check_b.handling_locality, check_b.receiving_locality) == (
        "off-site",
        NANMING,
        XUANWU,
    )
    assert "第四条" in check_b.route.planned.route_note
    assert check_b.state == "dispatched"
