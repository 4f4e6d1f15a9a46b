"""Issue 16: the FHIR version a message is in is detected and said, never a KeyError."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.bundle import Bundle as R5Bundle
from fhir.resources.R4B.bundle import Bundle as R4Bundle

from integrations.hospital.birth_notification import IntakeRejectedError, parse_message
from integrations.hospital.outcomes import acknowledgement
from tests.unit.test_fhir_intake_rules import HEADER, Change, drop, put, variant

E = "Bundle.entry"
AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
STU3_EVENT = {"system": "https://newborn-ledger.org/fhir/CodeSystem/message-event"}


def as_old(*extra: Change) -> list[Change]:
    """The header as STU3 wrote it: `event` (a Coding) and `timestamp`."""
    event = {**STU3_EVENT, "code": "birth-notification"}
    return [
        drop((*HEADER, "eventCoding")),
        put((*HEADER, "event"), event),
        put((*HEADER, "timestamp"), "2026-11-20T16:00:00+08:00"),
        *extra,
    ]


def refusal(raw: bytes, media_version: str | None = None) -> IntakeRejectedError:
    with pytest.raises(IntakeRejectedError) as caught:
        parse_message(raw, media_version=media_version)
    return caught.value


def only_issue(error: IntakeRejectedError) -> tuple[int, str, str | None, str]:
    assert len(error.issues) == 1, error.issues
    issue = error.issues[0]
    return error.status, issue.code, issue.expression, issue.diagnostics


def test_an_stu3_message_gets_one_issue_naming_its_version() -> None:
    status, code, where, text = only_issue(refusal(variant(*as_old())))
    assert (status, code, where) == (400, "not-supported", f"{E}[0].resource.event")
    assert "FHIR STU3" in text
    assert "R4" in text


def test_a_dstu2_message_gets_one_issue_naming_its_version() -> None:
    data = put((*HEADER, "data"), [{"reference": "urn:uuid:0c7e3d1a-5b2f-4e8a-9d61-3f4a2b1c0d03"}])
    status, code, where, text = only_issue(refusal(variant(*as_old(data))))
    assert (status, code, where) == (400, "not-supported", f"{E}[0].resource.event")
    assert "FHIR DSTU2" in text


def test_a_versioned_profile_tells_the_version() -> None:
    profile = put(("meta",), {"profile": ["http://hl7.org/fhir/STU3/StructureDefinition/Bundle"]})
    status, _code, where, text = only_issue(refusal(variant(profile)))
    assert (status, where) == (400, "Bundle.meta.profile[0]")
    assert "FHIR STU3" in text


def test_the_media_type_parameter_tells_the_version() -> None:
    status, code, where, text = only_issue(refusal(variant(), media_version="3.0"))
    assert (status, code, where) == (400, "not-supported", None)
    assert "fhirVersion=3.0" in text
    assert parse_message(variant(), media_version="4.0").kind == "notify"


def test_an_stu3_only_resource_names_the_version() -> None:
    extra = {"fullUrl": "urn:uuid:old", "resource": {"resourceType": "ProcessRequest"}}

    def add(data: dict[str, Any]) -> None:
        data["entry"].append(extra)

    status, _code, where, text = only_issue(refusal(variant(drop((*HEADER, "source")), add)))
    assert (status, where) == (400, f"{E}[13].resource")
    assert "FHIR STU3" in text


def test_an_r5_only_resource_in_an_r4_message_is_located_and_never_a_key_error() -> None:
    transport = {
        "resourceType": "Transport",
        "status": "completed",
        "intent": "order",
    }

    def add(data: dict[str, Any]) -> None:
        data["entry"].append({"fullUrl": "urn:uuid:transport", "resource": transport})

    status, code, where, text = only_issue(refusal(variant(add)))
    assert (status, code, where) == (400, "not-supported", f"{E}[13].resource")
    assert "Transport" in text
    assert "R5" in text
    assert "R4" in text


def test_an_r5_only_resource_without_other_evidence_is_checked_as_r5() -> None:
    """No header evidence: the R5-only type decides; no issue is a bare KeyError at Bundle."""
    transport = {"resourceType": "Transport", "intent": "order"}

    def add(data: dict[str, Any]) -> None:
        data["entry"].append({"fullUrl": "urn:uuid:transport", "resource": transport})

    error = refusal(variant(drop((*HEADER, "source")), drop((*HEADER, "destination")), add))
    assert error.status == 400
    assert all("KeyError" not in issue.diagnostics for issue in error.issues)
    assert all(issue.diagnostics.endswith("(FHIR R5)") for issue in error.issues)
    assert f"{E}[13].resource.currentLocation" in [issue.expression for issue in error.issues]


def test_an_r5_sender_gets_a_valid_r5_acknowledgement() -> None:
    parsed = parse_message(variant(name="notification-r5.json"))
    assert parsed.fhir_version == "R5"
    ack = acknowledgement(
        parsed.message_id,
        "2c76594c-4b0a-54a2-acc8-6494f3f11794",
        "7K3M9Q2XHB4T",
        parsed.source_endpoint,
        timestamp=AT,
        version=parsed.fhir_version,
    )
    header: Any = R5Bundle.model_validate(ack).entry[0].resource  # type: ignore[index]
    assert header.response.identifier.value == parsed.message_id
    assert header.destination[0].endpointUrl == "https://his.yueyang-mch.example.cn/fhir"
    r4 = parse_message(variant())
    assert r4.fhir_version == "R4"
    r4_ack = acknowledgement(r4.message_id, "c", "t", r4.source_endpoint, timestamp=AT)
    r4_header: Any = R4Bundle.model_validate(r4_ack).entry[0].resource  # type: ignore[index]
    assert r4_header.response.identifier == r4.message_id
