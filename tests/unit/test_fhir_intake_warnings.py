"""Issue 16: facts a message gives that the profile does not map are named in the ack."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fhir.resources.R4B.bundle import Bundle as R4Bundle

from integrations.hospital.birth_notification import parse_message
from integrations.hospital.outcomes import acknowledgement
from tests.unit.test_fhir_intake import IN_2019, SHARED, needs_shared
from tests.unit.test_fhir_intake import _bfdr_message as bfdr_message
from tests.unit.test_fhir_intake_rules import Change, variant

E = "Bundle.entry"
AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SNOMED = "http://snomed.info/sct"
CHILD_URL = "urn:uuid:0c7e3d1a-5b2f-4e8a-9d61-3f4a2b1c0d03"
SNOMED_WEIGHT = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": SNOMED, "code": "364589006", "display": "Birth weight"}]},
    "subject": {"reference": CHILD_URL},
    "valueQuantity": {"value": 3350, "system": "http://unitsofmeasure.org", "code": "g"},
}
SNOMED_HEPB = {
    "resourceType": "Immunization",
    "status": "completed",
    "vaccineCode": {"coding": [{"system": SNOMED, "code": "412403009"}]},
    "patient": {"reference": CHILD_URL},
    "occurrenceDateTime": "2026-11-20T11:05:00+08:00",
}


def appended(*resources: dict[str, Any]) -> Change:
    def change(data: dict[str, Any]) -> None:
        for i, resource in enumerate(resources):
            data["entry"].append({"fullUrl": f"urn:uuid:extra-{i}", "resource": resource})

    return change


def test_unmapped_facts_are_warnings_and_the_message_is_accepted() -> None:
    second_apgar = orjson.loads(variant())["entry"][9]["resource"]
    parsed = parse_message(variant(appended(SNOMED_WEIGHT, SNOMED_HEPB, second_apgar)))
    assert [(w.severity, w.code, w.expression) for w in parsed.warnings] == [
        ("warning", "not-supported", f"{E}[13].resource.code"),
        ("warning", "not-supported", f"{E}[15].resource.code"),
        ("warning", "not-supported", f"{E}[14].resource.vaccineCode"),
    ]
    assert "364589006" in parsed.warnings[0].diagnostics
    assert "first" in parsed.warnings[1].diagnostics
    assert "412403009" in parsed.warnings[2].diagnostics


def test_a_message_with_nothing_left_out_has_no_warning() -> None:
    assert parse_message(variant()).warnings == ()


def test_the_acknowledgement_carries_the_warnings_and_stays_valid() -> None:
    parsed = parse_message(variant(appended(SNOMED_WEIGHT)))
    ack = acknowledgement(parsed.message_id, "case", "CODE", timestamp=AT, warnings=parsed.warnings)
    bundle: Any = R4Bundle.model_validate(ack)
    header, outcome = bundle.entry[0].resource, bundle.entry[2].resource
    assert header.response.details.reference == bundle.entry[2].fullUrl
    assert outcome.get_resource_type() == "OperationOutcome"
    assert [i.expression for i in outcome.issue] == [[f"{E}[13].resource.code"]]
    again = acknowledgement(
        parsed.message_id, "case", "CODE", timestamp=AT, warnings=parsed.warnings
    )
    assert again == ack  # a resend gets the same bytes


@needs_shared
def test_the_bfdr_report_names_every_observation_it_does_not_take() -> None:
    """36 BFDR Observations: weight, gestation and Apgars are taken; each other is named."""
    nl = "https://newborn-ledger.org/fhir"
    doc = orjson.loads((SHARED / "bfdr-provider-live-birth-document-babyg-quinn.json").read_bytes())
    by_id = {entry["resource"].get("id"): entry["resource"] for entry in doc["entry"]}
    by_id["organization-south-hospital"]["identifier"] = [
        {"system": f"{nl}/sid/uscc", "value": "12430600MB1A2B3C4W"}
    ]
    division = {"url": f"{nl}/StructureDefinition/division-code", "valueCode": "430602"}
    by_id["location-south-hospital"]["address"]["extension"] = [division]
    by_id["patient-mother-jada-ann-quinn"]["address"] = [
        {"extension": [{"url": f"{nl}/StructureDefinition/address-kind", "valueCode": k}, division]}
        for k in ("hukou", "residence")
    ]
    parsed = parse_message(orjson.dumps(bfdr_message(doc)), IN_2019)
    observations = [e for e in doc["entry"] if e["resource"]["resourceType"] == "Observation"]
    current = [o for o in observations if o["resource"].get("status") not in ("cancelled",)]
    assert len(parsed.warnings) == len(current) - 4
    assert all(
        w.expression and w.expression.startswith("Bundle.entry[1].resource.entry[")
        for w in parsed.warnings
    )


def test_a_void_reads_no_facts_and_warns_of_none() -> None:
    assert parse_message(variant(name="notification-void.json")).warnings == ()
