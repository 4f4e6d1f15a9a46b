"""Issue 18, the pull feed, over HTTP on SQLite and PostgreSQL: each office reads the messages
of its own requests in order after a cursor (the same messages the worker pushes to its
systems), each one's data exactly what the office's history shows; paging by the cursor gives
the same sequence as one read; a long poll answers when a message arrives; a rebuild writes the
same messages under the same ids and sequence numbers; bodies are sealed at rest with a key."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import orjson
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from domain.kernel.commands import Receive
from tests.e2e.test_rejection_flow import Journey

KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def feed(
    journey: Journey, locality: str, authority: str, query: str = "", status: int = 200
) -> dict[str, Any]:
    response = journey.client.get(
        f"/offices/{locality}/{authority}/feed{query}",
        headers=journey.offices.header(locality, authority),
    )
    assert response.status_code == status, response.json()
    body: dict[str, Any] = response.json()
    return body


def office_history(journey: Journey, locality: str, authority: str) -> list[dict[str, Any]]:
    response = journey.client.get(
        f"/cases/{journey.case_id}/history", headers=journey.offices.header(locality, authority)
    )
    assert response.status_code == 200
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_each_office_reads_its_own_messages_in_order(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-FEED-1")
    journey.decide("birth-certificate")
    hukou = journey.services()["household-registration"]
    assert (hukou["receiving_locality"], hukou["handling_locality"]) == ("430602", "420102")
    journey.step("household-registration", "receive", {"receipt_number": "R-HR"})

    window = feed(journey, "430602", "public-security")["messages"]
    deciding = feed(journey, "420102", "public-security")["messages"]
    assert [(m["type"], m["data"]["role"]) for m in window] == [
        ("org.newborn-ledger.request.dispatched", "receive")
    ]
    assert [(m["type"], m["data"]["role"]) for m in deciding] == [
        ("org.newborn-ledger.request.dispatched", "decide"),
        ("org.newborn-ledger.request.received", "decide"),
    ]
    for message in window + deciding:
        assert message["specversion"] == "1.0"
        assert message["subject"] == hukou["service_request_id"]
        assert message["data"]["case_id"] == str(journey.case_id)
        assert message["id"].startswith("msg_")
    assert window[0]["source"] == "/offices/430602/public-security"
    assert window[0]["id"] != deciding[0]["id"]  # one message per office
    sequences = [int(m["sequence"]) for m in deciding]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == 2

    # the data is exactly what the office's history shows of the event
    shown = [
        e
        for e in office_history(journey, "420102", "public-security")
        if e["stream"] == "household-registration" and e["event"] == "Dispatched"
    ]
    assert shown[0]["data"]["payload"] == deciding[0]["data"]["payload"]
    assert deciding[0]["data"]["payload"]  # the child's data this authority needs

    # the birth hospital's office receives and decides its one request: told both steps
    # (its system may decide what its clerks received)
    health = feed(journey, "430602", "health")["messages"]
    assert [(m["type"], m["data"]["role"]) for m in health] == [
        ("org.newborn-ledger.request.dispatched", "both"),
        ("org.newborn-ledger.request.received", "both"),
    ]


def test_paging_by_the_cursor_gives_the_same_sequence(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-FEED-2")
    journey.decide("birth-certificate")
    journey.step("household-registration", "receive", {"receipt_number": "R-HR"})
    other = Journey(client, container, "MR-FEED-3")
    other.decide("birth-certificate")

    whole = feed(journey, "420102", "public-security")
    assert len(whole["messages"]) == 3
    assert whole["next"] == int(whole["messages"][-1]["sequence"])
    paged: list[dict[str, Any]] = []
    after = 0
    while page := feed(journey, "420102", "public-security", f"?after={after}&limit=1"):
        if not page["messages"]:
            assert page["next"] == after  # nothing new: keep the cursor
            break
        assert len(page["messages"]) == 1
        paged += page["messages"]
        after = page["next"]
    assert paged == whole["messages"]


def test_a_feed_is_its_office_s_alone(client: TestClient, container: Container) -> None:
    journey = Journey(client, container, "MR-FEED-4")
    journey.decide("birth-certificate")
    wuhan = journey.offices.header("420102", "public-security")
    for path in (
        "/offices/430602/public-security/feed",  # another locality's
        "/offices/420102/hrss/feed",  # another authority's
        "/offices/420102/nonsense/feed",
    ):
        response = client.get(path, headers=wuhan)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")
    family = client.get("/offices/420102/public-security/feed", headers=journey.family)
    assert family.status_code == 404
    admin = client.get("/offices/420102/public-security/feed", headers=journey.admin)
    assert admin.status_code == 200
    assert len(admin.json()["messages"]) == 1


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("?after=-1", "after"), ("?limit=0", "limit"), ("?limit=501", "limit"), ("?wait=31", "wait")],
)
def test_a_bad_cursor_or_limit_is_named(
    client: TestClient, container: Container, query: str, parameter: str
) -> None:
    journey = Journey(client, container, "MR-FEED-5")
    problem = feed(journey, "420102", "public-security", query, status=422)
    assert problem["parameter"] == parameter


def test_a_long_poll_answers_when_a_message_arrives(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-FEED-6")
    journey.decide("birth-certificate")
    first = feed(journey, "420102", "public-security")
    request_id = journey.services()["household-registration"]["service_request_id"]

    def receive_soon() -> None:
        time.sleep(0.3)
        container.ledger.receive(Receive(UUID(request_id), "office:test", "R-LATE"))
        container.after_command()

    worker = threading.Thread(target=receive_soon)
    worker.start()
    try:
        page = feed(journey, "420102", "public-security", f"?after={first['next']}&wait=20")
    finally:
        worker.join()
    assert [m["type"] for m in page["messages"]] == ["org.newborn-ledger.request.received"]


def test_a_rebuild_writes_the_same_messages(client: TestClient, container: Container) -> None:
    journey = Journey(client, container, "MR-FEED-7")
    journey.decide("birth-certificate")
    journey.step("household-registration", "receive", {"receipt_number": "R-HR"})
    before = feed(journey, "420102", "public-security")
    container.projections.rebuild("office_feed")
    assert feed(journey, "420102", "public-security") == before


def test_with_a_key_the_bodies_are_sealed_at_rest(settings: Settings) -> None:
    container = build(settings.with_changes(cipher_key=KEY))
    try:
        with TestClient(create_app(container, close_on_shutdown=False)) as client:
            journey = Journey(client, container, "MR-FEED-8")
            journey.decide("birth-certificate")
            messages = feed(journey, "420102", "public-security")["messages"]
        assert messages[0]["data"]["payload"]
        stored = orjson.dumps(container.projections.office_feed_view.dump())
        assert "王小明".encode() not in stored  # the child's name, in the dispatch's payload
        assert b"payload" not in stored
    finally:
        container.close()
