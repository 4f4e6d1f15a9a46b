"""Replies to hospitals: each builder's output is orjson-ready and valid FHIR R4 (R4B models)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from integrations.hospital.birth_notification import IntakeRejectedError, Issue, parse_message
from integrations.hospital.outcomes import acknowledgement, error_message, operation_outcome

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"
EVENTS = "https://newborn-ledger.org/fhir/CodeSystem/message-event"
AT = datetime(2026, 11, 20, 16, 0, 5, tzinfo=timezone(timedelta(hours=8)))
CASE_ID = UUID("4f7c9a8e-2b1d-5c3e-9f0a-6b5d4c3b2a10")
REQUEST_ID = "b1f0c2d4-6a8e-4c1b-9f3d-5e7a9c1b3d01"
ISSUES = [
    Issue(
        "error",
        "value",
        "The check character of the citizen ID is wrong",
        "Bundle.entry[3].resource.identifier[0].value",
    ),
    Issue("error", "structure", "The body is not JSON"),
]


def r4_bundle(reply: dict[str, Any]) -> Any:
    """Serialise as the API would, then validate as FHIR R4."""
    return Bundle.model_validate(orjson.loads(orjson.dumps(reply)))


def test_operation_outcome_is_valid_r4_with_one_issue_per_problem() -> None:
    outcome = operation_outcome(ISSUES)
    OperationOutcome.model_validate(orjson.loads(orjson.dumps(outcome)))
    assert outcome["issue"] == [
        {
            "severity": "error",
            "code": "value",
            "diagnostics": "The check character of the citizen ID is wrong",
            "expression": ["Bundle.entry[3].resource.identifier[0].value"],
        },
        {"severity": "error", "code": "structure", "diagnostics": "The body is not JSON"},
    ]


def test_operation_outcome_of_nothing_still_has_an_issue() -> None:
    OperationOutcome.model_validate(operation_outcome([]))


def test_acknowledgement_is_a_valid_r4_response_message() -> None:
    ack = acknowledgement(REQUEST_ID, CASE_ID, "7K3M9Q2XHB4T", timestamp=AT)
    bundle = r4_bundle(ack)
    header = bundle.entry[0].resource
    assert (bundle.type, bundle.timestamp.isoformat()) == ("message", "2026-11-20T16:00:05+08:00")
    assert (header.eventCoding.system, header.eventCoding.code) == (EVENTS, "birth-notification")
    assert (header.response.identifier, header.response.code) == (REQUEST_ID, "ok")
    assert header.focus[0].reference == f"cases/{CASE_ID}"
    assert header.focus[1].reference == bundle.entry[1].fullUrl
    parameters = {p.name: p.valueString or p.valueUri for p in bundle.entry[1].resource.parameter}
    assert parameters == {
        "case_id": str(CASE_ID),
        "tracking_code": "7K3M9Q2XHB4T",
        "case": f"/cases/{CASE_ID}",
    }


def test_acknowledgement_is_the_same_for_the_same_message() -> None:
    first = acknowledgement(REQUEST_ID, CASE_ID, "7K3M9Q2XHB4T", timestamp=AT)
    assert orjson.dumps(first) == orjson.dumps(
        acknowledgement(REQUEST_ID, str(CASE_ID), "7K3M9Q2XHB4T", timestamp=AT)
    )
    other = acknowledgement("another-message", CASE_ID, "7K3M9Q2XHB4T", timestamp=AT)
    assert other["id"] != first["id"]


def test_acknowledgement_answers_the_sender_with_the_request_event() -> None:
    ack = acknowledgement(
        REQUEST_ID,
        CASE_ID,
        "7K3M9Q2XHB4T",
        "https://his.example.cn/fhir",
        timestamp=AT,
        kind="void",
    )
    header = r4_bundle(ack).entry[0].resource
    assert header.eventCoding.code == "birth-notification-void"
    assert header.destination[0].endpoint == "https://his.example.cn/fhir"


def test_acknowledgement_needs_an_aware_timestamp() -> None:
    with pytest.raises(ValueError, match="timezone"):
        acknowledgement(REQUEST_ID, CASE_ID, "7K3M9Q2XHB4T", timestamp=datetime(2026, 11, 20, 16))


def test_error_message_is_a_valid_r4_fatal_error_with_the_outcome() -> None:
    reply = error_message(REQUEST_ID, ISSUES, timestamp=AT, kind="update")
    bundle = r4_bundle(reply)
    header, outcome = bundle.entry[0].resource, bundle.entry[1].resource
    assert (header.response.identifier, header.response.code) == (REQUEST_ID, "fatal-error")
    assert header.response.details.reference == bundle.entry[1].fullUrl
    assert header.eventCoding.code == "birth-notification-update"
    assert [i.expression for i in outcome.issue] == [
        ["Bundle.entry[3].resource.identifier[0].value"],
        None,
    ]


def test_ack_of_a_parsed_message_and_its_reuse_as_input() -> None:
    parsed = parse_message((FIXTURES / "notification-full.json").read_bytes())
    ack = acknowledgement(
        parsed.message_id,
        CASE_ID,
        "7K3M9Q2XHB4T",
        parsed.source_endpoint,
        timestamp=AT,
        kind=parsed.kind,
    )
    r4_bundle(ack)
    with pytest.raises(IntakeRejectedError) as caught:  # a reply posted back is not a request
        parse_message(orjson.dumps(ack))
    assert [(i.code, i.expression) for i in caught.value.issues] == [
        ("not-supported", "Bundle.entry[0].resource.response")
    ]


def test_rejection_renders_as_a_valid_outcome_and_error_message() -> None:
    with pytest.raises(IntakeRejectedError) as caught:
        parse_message((FIXTURES / "notification-impossible-weight.json").read_bytes())
    error = caught.value
    OperationOutcome.model_validate(operation_outcome(error.issues))
    assert error.message_id is not None
    reply = r4_bundle(error_message(error.message_id, error.issues, timestamp=AT))
    assert reply.entry[1].resource.issue[0].expression == [
        "Bundle.entry[7].resource.valueQuantity.value"
    ]
