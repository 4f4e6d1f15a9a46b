"""Every text an office or a family sends is bounded: an over-long value is a 422 naming the
field and its limit, and nothing is recorded (a 20,000-character receipt number was accepted)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from api.offices import MAX_ITEM, MAX_ITEMS, MAX_RECEIPT
from domain.births.commands import NotifyBirth
from tests.conftest import make_facts


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


@pytest.fixture
def admin(container: Container) -> dict[str, str]:
    return {"Authorization": f"Bearer {container.actors.add('admin', None)[1]}"}


def refused(client: TestClient, admin: dict[str, str], url: str, body: Any, field: str) -> None:
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    head = container.ledger.recorder.max_notification_id()
    response = client.post(url, json=body, headers=admin)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["type"], problem["field"]) == ("/problems/too-long", field)
    assert container.ledger.recorder.max_notification_id() == head


def test_over_long_office_and_family_texts_are_refused(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-len", make_facts("MR-LEN"), b"{}"))
    container.after_command()
    view = client.get(f"/cases/{outcome.case_id}", headers=admin).json()
    request_id = next(
        s["service_request_id"] for s in view["services"] if s["state"] == "dispatched"
    )
    step = f"/service-requests/{request_id}"
    long_receipt = {"receipt_number": "R" * 20_000}
    refused(client, admin, f"{step}/receive", long_receipt, "receipt_number")
    assert MAX_RECEIPT == 64
    edge = client.post(f"{step}/receive", json={"receipt_number": "R" * 64}, headers=admin)
    assert edge.status_code == 200, edge.text  # the limit itself is allowed
    many = {"items": [f"item {n}" for n in range(MAX_ITEMS + 1)]}
    refused(client, admin, f"{step}/request-supplement", many, "items")
    one_long = {"items": ["户口簿", "x" * (MAX_ITEM + 1)]}
    refused(client, admin, f"{step}/request-supplement", one_long, "items[1]")
    case = f"/cases/{outcome.case_id}"
    application = {
        "child_name": "王" * 51,
        "household": "mother",
        "residence_division": "430602",
        "consent": True,
    }
    refused(client, admin, f"{case}/family-application", application, "child_name")
    application |= {"child_name": "王小明", "contact_phone": "1" * 20_000}
    refused(client, admin, f"{case}/family-application", application, "contact_phone")
