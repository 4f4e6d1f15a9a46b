"""Marriage registration over HTTP on SQLite and PostgreSQL, what the done-when test leaves
out: a window clerk of the registering civil-affairs office applies for a couple (by token or
by session: the identity check is recorded as "window" with the clerk's actor id and office),
a clerk of another office or authority is refused with its problem, the online throttle
answers 429 with Retry-After, and the couple close their case after a refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pyotp
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from api.marriage import APPLICATIONS_PER_HOUR
from domain.marriage.case import MarriageCase
from tests.e2e.test_marriage_http import (
    A_ID,
    COUPLE,
    HAIYAN,
    SHUSHAN,
    XUANWU,
    bearer,
    office,
    rid,
    step,
)

BASE = "https://ledger.example.cn"  # the session cookie is Secure: the client speaks https
PASSWORD = "correct horse battery staple"
BASIS = "《婚姻登记条例》第六条"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    app = create_app(container, close_on_shutdown=False)
    with TestClient(app, base_url=BASE, follow_redirects=False) as test_client:
        yield test_client


def identity(container: Container, case_id: str) -> dict[str, Any]:
    case: object = container.ledger.repository.get(UUID(case_id))
    assert isinstance(case, MarriageCase)
    return case.identity.to_dict()


def test_a_window_clerk_applies_and_the_check_is_recorded_as_the_windows(
    client: TestClient, container: Container
) -> None:
    clerk, token = container.actors.add("office", HAIYAN, "civil-affairs")
    opened = client.post("/marriage-registrations", json=COUPLE, headers=bearer(token))
    assert opened.status_code == 201, opened.text
    assert opened.json()["identity_check"] == "window"
    case_id = opened.json()["case_id"]
    assert identity(container, case_id) == {
        "method": "window",
        "document": "resident-id-card",
        "checked_by": str(clerk.id),
        "office": f"{HAIYAN}:civil-affairs",
    }
    container.after_command()
    seen = client.get(f"/marriage-registrations/{case_id}", headers=bearer(token)).json()
    assert seen["identity_check"] == "window"  # the office's view says so too
    for service, who, result in (
        ("marital-status-check-a", XUANWU, {"marital_status_record_a": "XW-1"}),
        ("marital-status-check-b", SHUSHAN, {"marital_status_record_b": "SS-1"}),
    ):
        request_id = str(rid(case_id, service))
        step(client, bearer(token), request_id, "receive", {"receipt_number": "HY-1"})
        container.after_command()
        step(client, office(container, who), request_id, "approve", result)
    container.after_command()
    payload = container.ledger.get_request(rid(case_id, "marriage-registration")).payload
    assert payload["identity_check.method"] == "window"  # what the registering office is sent


def test_a_window_clerk_signed_in_by_session_applies(
    client: TestClient, container: Container
) -> None:
    _, secret = container.staff.add("clerk.hy", "office", HAIYAN, "civil-affairs", PASSWORD)
    page = client.get("/sign-in")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    fields = {"csrf_token": found.group(1), "username": "clerk.hy", "password": PASSWORD}
    signed = client.post("/sign-in", data={**fields, "code": pyotp.TOTP(secret).now()})
    assert signed.status_code == 303, signed.text
    csrf = client.get("/session").json()["csrf_token"]

    unsent = client.post("/marriage-registrations", json=COUPLE)  # the cookie, no CSRF token
    assert unsent.status_code == 403
    assert unsent.json()["type"].endswith("csrf-token-missing")
    opened = client.post("/marriage-registrations", json=COUPLE, headers={"X-CSRF-Token": csrf})
    assert opened.status_code == 201, opened.text
    check = identity(container, opened.json()["case_id"])
    assert check["method"] == "window"
    assert check["office"] == f"{HAIYAN}:civil-affairs"
    user = container.staff.user("clerk.hy")  # the session's principal is the clerk's own
    assert check["checked_by"] == str(user.id)


@pytest.mark.parametrize(
    ("locality", "authority"),
    [(XUANWU, "civil-affairs"), (HAIYAN, "public-security")],
    ids=["another-office", "another-authority"],
)
def test_a_clerk_of_another_office_or_authority_is_refused(
    client: TestClient, container: Container, locality: str, authority: str
) -> None:
    _, token = container.actors.add("office", locality, authority)
    head = container.ledger.recorder.max_notification_id()
    refused = client.post(
        "/marriage-registrations",
        json=COUPLE,
        headers={**bearer(token), "Accept-Language": "zh-CN"},
    )
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert problem["type"] == "/problems/not-receiving-office"
    assert problem["registration_division"] == HAIYAN
    assert problem["title"] != problem["title_en"]  # in Chinese, the English beside
    assert container.ledger.recorder.max_notification_id() == head  # nothing was recorded


def test_a_registry_systems_token_does_not_apply_for_a_couple(
    client: TestClient, container: Container
) -> None:
    system = container.systems.register(
        container.actors, HAIYAN, "civil-affairs", None, "marriage registry"
    )
    refused = client.post("/marriage-registrations", json=COUPLE, headers=bearer(system.token))
    assert refused.status_code == 404, refused.text  # a person's check, never a system's


def test_online_applications_are_throttled_per_address(
    client: TestClient, container: Container
) -> None:
    bad = client.post("/marriage-registrations", json={**COUPLE, "registration_place": "x"})
    assert bad.status_code == 422  # a refused form is not counted
    for _ in range(APPLICATIONS_PER_HOUR):
        assert client.post("/marriage-registrations", json=COUPLE).status_code == 201
    limited = client.post(
        "/marriage-registrations", json=COUPLE, headers={"Accept-Language": "zh-CN"}
    )
    assert limited.status_code == 429, limited.text
    wait = int(limited.headers["Retry-After"])
    assert 0 < wait <= 3600
    problem = limited.json()
    assert problem["type"] == "/problems/too-many-applications"
    assert problem["retry_after"] == wait
    assert problem["title"] != problem["title_en"]
    _, token = container.actors.add("office", HAIYAN, "civil-affairs")
    by_clerk = client.post("/marriage-registrations", json=COUPLE, headers=bearer(token))
    assert by_clerk.status_code == 201  # the window is not throttled


def test_the_couple_close_their_case_after_a_refusal(
    client: TestClient, container: Container
) -> None:
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
    container.after_command()
    step(client, xuanwu, check_a, "reject", {"reason": "已有配偶登记", "basis": BASIS})
    container.after_command()
    signed = client.post("/track", json={"tracking_code": code, "verifier": A_ID[-6:]})
    assert signed.status_code == 201, signed.text
    family = bearer(signed.json()["token"])

    early = client.post(f"/cases/{case_id}/close", json={"reason": "不再办理"}, headers=family)
    assert early.status_code == 409, early.text  # party B's check can still proceed
    assert early.json()["held"] == ["marital-status-check-b"]
    step(client, shushan, check_b, "approve", {"marital_status_record_b": "SS-HY-2026-0042"})
    container.after_command()
    waiting = client.get(f"/marriage-registrations/{case_id}", headers=family).json()
    assert waiting["next"]["who"] == "applicants"
    assert waiting["next"]["action"] == "resubmit or close the case"

    closed = client.post(f"/cases/{case_id}/close", json={"reason": "不再办理"}, headers=family)
    assert closed.status_code == 200, closed.text
    view = closed.json()
    assert view["kind"] == "marriage"  # the answer is the marriage case's view
    assert view["state"] == "closed"
    assert view["next"] is None  # a closed case waits on nobody
    states = {s["service"]: s["state"] for s in view["services"]}
    assert states == {
        "marital-status-check-a": "rejected",
        "marital-status-check-b": "approved",
        "marriage-registration": "withdrawn",
    }
    container.after_command()
    again = client.post(f"/cases/{case_id}/close", json={}, headers=family)
    assert again.status_code == 409
    resubmit = client.post(f"/service-requests/{check_a}/resubmit", json={}, headers=family)
    assert resubmit.status_code == 409
    assert resubmit.json()["type"] == "/problems/case-closed"
    other = office(container, HAIYAN)
    assert client.post(f"/cases/{case_id}/close", json={}, headers=other).status_code == 404
