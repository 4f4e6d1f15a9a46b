"""The one renderer of the case view (projections/case_view.py): fields by role, in order."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from domain.kernel.service_request import ServiceRequest
from projections.case_view import (
    case_view,
    noted_fields,
    request_fields,
    row_fields,
    service_entry,
)
from tests.unit.test_access import HUKOU_ROUTE, a_route

ROW: dict[str, Any] = {
    "service": "household-registration",
    "service_request_id": "r-1",
    "state": "received",
    "handling_locality": "420102",
    "receiving_locality": "430602",
    "mode": "off-site",
    "manual_routing": False,
    "due": "2026-12-10",
    "case_id": "c-1",  # a stored row holds more than is shown
}


@pytest.mark.parametrize(
    ("role", "keys"),
    [
        ("family", ["case_id", "state", "services", "tracking_code"]),
        ("admin", ["case_id", "state", "services", "tracking_code", "hospital_ref"]),
        ("hospital", ["case_id", "state", "services", "tracking_code", "hospital_ref"]),
        ("office", ["case_id", "state", "services"]),
    ],
)
def test_each_role_sees_its_fields_in_one_order(role: str, keys: list[str]) -> None:
    view = case_view(role, "c-1", "in-progress", [], "T-1", "MR-1")
    assert list(view) == keys


def test_extras_come_last_in_the_order_given() -> None:
    view = case_view("family", "c-1", "open", [], "T-1", None, next_action="wait", timeline=[])
    assert list(view)[-2:] == ["next_action", "timeline"]
    past = case_view("office", "c-1", "open", [], "T-1", None, as_of="2026-12-01T00:00:00+00:00")
    assert list(past) == ["case_id", "state", "services", "as_of"]


def test_a_service_shows_its_result_only_to_who_sees_results() -> None:
    shown = service_entry(row_fields(ROW), {"certificate_number": "X1"}, ["户口簿"])
    assert list(shown)[-2:] == ["result", "awaiting"]
    assert shown["result"] == {"certificate_number": "X1"}
    assert "case_id" not in shown
    assert service_entry(row_fields(ROW), {}, [])["result"] is None
    assert "result" not in service_entry(row_fields(ROW), None, None)


def test_the_aggregate_and_the_row_give_the_same_fields() -> None:
    request = ServiceRequest(
        uuid4(), "household-registration", a_route("household-registration", HUKOU_ROUTE)
    )
    fields = request_fields(request)
    stored = fields | {"case_id": str(request.case_id)}
    noted = row_fields(stored) | noted_fields(None)  # a document adds its note of the request
    assert noted == fields
    assert list(noted) == list(fields)
