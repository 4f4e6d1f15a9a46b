"""Issue 19's read audit over HTTP on SQLite and PostgreSQL: reads by an office (API and page),
its registry system, a hospital, an admin and the family appear in GET /audit with who, what,
which case and how, and none of the case's personal data; the filters and the cursor work; a
monitor counts each office's reads; the family sees which offices viewed its case; an audit
that cannot record refuses the read with 503 problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from entry.cli import main
from tests.conftest import HOSPITAL, make_facts
from tests.e2e.test_deliveries_http import cli_env
from tests.e2e.test_rejection_flow import APPLICATION, Journey

REF = "MR-AUDIT-1"
OFFICE = ("430602", "health")  # the birth certificate's office: it sees the case
PAGE = {"Sec-Fetch-Site": "same-origin"}  # what Chromium sends with a page's fetch
PROBLEM = "application/problem+json"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def personal_data(journey: Journey) -> set[str]:
    """What the audit must never hold of the fixture's case."""
    facts = make_facts(REF)
    mother = facts.mother
    view = journey.client.get(f"/cases/{journey.case_id}", headers=journey.admin).json()
    values: set[object] = {mother.name, mother.citizen_id, mother.phone, REF}
    values |= {APPLICATION["child_name"], view["tracking_code"], (mother.citizen_id or "")[-6:]}
    return {str(v) for v in values if v}


def rows(client: TestClient, admin: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/audit", params=params, headers=admin)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["rows"]
    return found


def reads_everywhere(journey: Journey, container: Container) -> dict[str, dict[str, str]]:
    """Each kind of caller reads the case once (or twice); returns their headers."""
    client, case = journey.client, journey.case_id
    office = journey.offices.header(*OFFICE)
    system = journey.bearer(
        container.systems.register(container.actors, *OFFICE, None, "clinic system").token
    )
    hospital = journey.bearer(container.actors.add("hospital", HOSPITAL)[1])
    as_of = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    request_id = journey.services()["birth-certificate"]["service_request_id"]
    calls = [
        (office, f"/cases/{case}", {}, {}),
        (office, f"/cases/{case}/history", {}, {}),
        (office, "/offices/430602/health/queue", {}, PAGE),
        (office, f"/service-requests/{request_id}/deliveries", {}, {}),
        (system, f"/cases/{case}", {}, {}),
        (hospital, "/cases", {"hospital_ref": REF}, {}),
        (journey.admin, f"/cases/{case}", {"as_of": as_of}, {}),
    ]
    for headers, path, params, extra in calls:
        response = client.get(path, params=params, headers={**headers, **extra})
        assert response.status_code == 200, (path, response.text)
    return {"office": office, "system": system, "hospital": hospital}


def test_reads_are_audited_with_who_and_what_and_no_personal_data(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, REF)
    viewed = client.get(f"/cases/{journey.case_id}", headers=journey.family).json()
    assert viewed["viewed_by"] == []  # no office has read it yet
    reads_everywhere(journey, container)
    secrets = personal_data(journey)
    case = str(journey.case_id)

    audit = client.get("/audit", headers=journey.admin)
    assert audit.status_code == 200
    assert not {s for s in secrets if s in audit.text}
    found = rows(client, journey.admin, case=case)
    assert {r["case_id"] for r in found} == {case}
    shown = [(r["role"], r["kind"], r["what"], r["via"]) for r in found]
    assert ("family", "person", "case", "api") in shown
    assert ("office", "person", "case", "api") in shown
    assert ("office", "person", "history", "api") in shown
    assert ("office", "person", "deliveries", "api") in shown
    assert ("office", "system", "case", "api") in shown
    assert ("hospital", "person", "case", "api") in shown
    assert ("admin", "person", "as-of", "api") in shown
    clerk = next(r for r in found if r["what"] == "deliveries")
    assert (clerk["scope"], clerk["authority"], clerk["user"]) == ("430602", "health", "")
    assert clerk["target"] == journey.services()["birth-certificate"]["service_request_id"]
    queue = rows(client, journey.admin, actor=clerk["actor_id"])
    assert [r["what"] for r in queue if not r["case_id"]] == ["queue"]
    assert next(r for r in queue if r["what"] == "queue")["via"] == "page"
    assert datetime.fromisoformat(clerk["at"]) <= datetime.now(UTC)


def test_filters_the_cursor_and_bad_parameters(client: TestClient, container: Container) -> None:
    journey = Journey(client, container, REF)
    reads_everywhere(journey, container)
    everything = rows(client, journey.admin)
    pages: list[dict[str, Any]] = []
    after = 0
    while True:
        answer = client.get("/audit", params={"limit": 2, "after": after}, headers=journey.admin)
        pages += answer.json()["rows"]
        if answer.json()["next"] is None:
            break
        after = answer.json()["next"]
    assert pages == everything
    assert len(everything) >= 8
    first, last = (datetime.fromisoformat(everything[i]["at"]) for i in (0, -1))
    ms = timedelta(milliseconds=1)
    assert rows(client, journey.admin, to=(first - ms).isoformat()) == []
    assert rows(client, journey.admin, **{"from": (last - ms).isoformat()})[-1] == everything[-1]
    assert rows(client, journey.admin, **{"from": (last + ms).isoformat()}) == []
    assert rows(client, journey.admin, user="clerk.nobody") == []
    assert rows(client, journey.admin, case=str(UUID(int=1))) == []
    for params in (
        {"case": "not-a-case"},
        {"actor": "x"},
        {"from": "yesterday"},
        {"limit": "0"},
        {"after": "-1"},
        {"user": "a b"},
        {"from": "2026-12-02", "to": "2026-12-01"},
    ):
        refused = client.get("/audit", params=params, headers=journey.admin)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"] == PROBLEM
    assert client.get("/audit", headers=journey.family).status_code == 404
    assert client.get("/audit", headers=journey.offices.header(*OFFICE)).status_code == 404


def test_a_monitor_counts_reads_per_office_in_its_scope(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, REF)
    reads_everywhere(journey, container)
    month = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m")
    hunan = journey.bearer(container.actors.add("monitor", "43")[1])
    hubei = journey.bearer(container.actors.add("monitor", "42")[1])
    answer = client.get("/monitoring/reads", params={"month": month}, headers=hunan).json()
    assert answer["scope"] == "43"
    (office,) = answer["offices"]
    assert (office["locality"], office["authority"]) == OFFICE
    assert office["by_what"]["case"] == {"reads": 2, "cases": 1}  # the clerk and its system
    assert office["by_what"]["queue"] == {"reads": 1, "cases": 0}
    assert office["reads"] == 5
    other = client.get("/monitoring/reads", params={"month": month}, headers=hubei).json()
    assert other["offices"] == []
    outside = client.get("/monitoring/reads", params={"locality": "430602"}, headers=hubei)
    assert outside.status_code == 404
    earlier = client.get("/monitoring/reads", params={"month": "2020-01"}, headers=hunan)
    assert earlier.json()["offices"] == []
    bad = client.get("/monitoring/reads", params={"month": "2026-13"}, headers=hunan)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == PROBLEM


def test_the_family_sees_which_offices_viewed_its_case(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, REF)
    reads_everywhere(journey, container)
    container.tick()  # the pre-rendered document is current: its speed path answers
    view = client.get(f"/cases/{journey.case_id}", headers=journey.family).json()
    assert view["case_id"] == str(journey.case_id)
    assert view["services"]
    seen = {(v["locality"], v["authority"], v["kind"]): v for v in view["viewed_by"]}
    assert set(seen) == {(*OFFICE, "person"), (*OFFICE, "system")}
    assert seen[(*OFFICE, "person")]["reads"] == 3  # case, history, deliveries
    assert seen[(*OFFICE, "person")]["first_at"] <= seen[(*OFFICE, "person")]["last_at"]


def test_a_read_the_audit_cannot_record_is_refused_with_503(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, REF)
    container.audit.close()  # closing: the audit takes no more rows
    for headers in (journey.family, journey.admin):
        refused = client.get(f"/cases/{journey.case_id}", headers=headers)
        assert refused.status_code == 503
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["type"] == "/problems/audit-unavailable"
        assert set(refused.json()) == {"type", "title", "status", "detail", "instance"}
        assert refused.headers["retry-after"] == "1"


def test_the_retention_command_purges_rows_before_a_date(
    client: TestClient,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    journey = Journey(client, container, REF)
    reads_everywhere(journey, container)
    cli_env(container.settings, monkeypatch)
    kept = len(rows(client, journey.admin))
    assert main(["audit", "purge", "--before", "2020-01-01"]) == 0
    assert "removed 0 read-audit rows" in capsys.readouterr().out
    assert len(rows(client, journey.admin)) == kept  # reading the audit adds no row
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert main(["audit", "purge", "--before", tomorrow]) == 0
    assert rows(client, journey.admin) == []
    assert main(["audit", "purge", "--before", "last week"]) == 2


def test_a_feed_page_is_audited_per_case_and_request(
    client: TestClient, container: Container
) -> None:
    """A feed message carries its request's data: the page is one row per case and request,
    so a registry system's pull shows in the case's audit and in the family's view."""
    journey = Journey(client, container, REF)
    system = journey.bearer(
        container.systems.register(container.actors, *OFFICE, None, "clinic system").token,
    )
    page = client.get("/offices/430602/health/feed", params={"after": 0}, headers=system)
    assert page.status_code == 200, page.text
    assert page.json()["messages"]
    sent = {
        (m["data"]["case_id"], m["data"]["service_request_id"]) for m in page.json()["messages"]
    }
    found = [
        r for r in rows(client, journey.admin, case=str(journey.case_id)) if r["what"] == "feed"
    ]
    assert {(r["case_id"], r["target"]) for r in found} == sent
    assert {r["kind"] for r in found} == {"system"}
    viewed = client.get(f"/cases/{journey.case_id}", headers=journey.family).json()["viewed_by"]
    assert [(v["locality"], v["authority"]) for v in viewed] == [OFFICE]


def test_the_family_applications_answer_is_audited(
    client: TestClient, container: Container
) -> None:
    """The family's application answers the case view: that read is recorded like a GET."""
    journey = Journey(client, container, REF)
    before = [
        r for r in rows(client, journey.admin, case=str(journey.case_id)) if r["role"] == "family"
    ]
    answer = client.post(
        f"/cases/{journey.case_id}/family-application", json=APPLICATION, headers=journey.family
    )
    assert answer.status_code == 200, answer.text
    after = [
        r for r in rows(client, journey.admin, case=str(journey.case_id)) if r["role"] == "family"
    ]
    assert len(after) == len(before) + 1
    assert after[-1]["what"] == "case"


def test_the_guide_is_audited_as_a_read_of_the_case(
    client: TestClient, container: Container
) -> None:
    """The guide names the localities handling the case: the admin's and the family's reads
    are recorded, by id and role only; a refused read records nothing."""
    journey = Journey(client, container, REF)
    case = str(journey.case_id)
    for headers in (journey.admin, journey.family):
        answer = client.get(f"/cases/{case}/guide", headers=headers)
        assert answer.status_code == 200, answer.text
    other = Journey(client, container, "MR-AUDIT-2")
    assert client.get(f"/cases/{other.case_id}/guide", headers=journey.family).status_code == 404
    found = [r for r in rows(client, journey.admin) if r["what"] == "guide"]
    assert [(r["role"], r["case_id"], r["target"]) for r in found] == [
        ("admin", case, ""),
        ("family", case, ""),
    ]
    assert not {s for s in personal_data(journey) if s in str(found)}
    container.audit.close()  # closing: the audit takes no more rows
    refused = client.get(f"/cases/{case}/guide", headers=journey.admin)
    assert (refused.status_code, refused.json()["type"]) == (503, "/problems/audit-unavailable")
