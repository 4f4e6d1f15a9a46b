"""Hospital FHIR intake: every shared third-party example and every profile fixture, exactly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from domain.births.commands import CorrectNotification, NotifyBirth, VoidNotification
from domain.births.facts import BirthFacts, Parent, changed_fields
from integrations.hospital.birth_notification import (
    IntakeRejectedError,
    ParsedMessage,
    parse_message,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"
SHARED = Path(__file__).parents[2].parent / "shared" / "fhir-examples"
USCC = "12430600MB1A2B3C4W"
CST = timezone(timedelta(hours=8))
# The third-party births are of 2019: notified then (a birth over 6 years old is refused).
IN_2019 = datetime(2019, 3, 1, tzinfo=CST)
NOT_PROCESSED = ("not-supported", "Bundle.entry[0].resource.eventUri")
NOT_A_MESSAGE = ("structure", "Bundle.type")
NVSS_STRUCTURE: list[tuple[str, str | None]] = [
    ("required", "Bundle.entry[2].resource.entry[0].resource.author"),
    # Composition.date is missing too: listed at once, not only once author is fixed.
    ("required", "Bundle.entry[2].resource.entry[0].resource.date"),
    ("value", "Bundle.entry[2].resource.entry[1].resource.id"),
]

# file → (status, [(issue code, expression)]): the exact answer to each third-party example.
SHARED_OUTCOMES: dict[str, tuple[int, list[tuple[str, str | None]]]] = {
    "bfdr-jurisdiction-live-birth-document-basic.json": (400, [NOT_A_MESSAGE]),
    "bfdr-provider-live-birth-document-babyg-quinn.json": (400, [NOT_A_MESSAGE]),
    "nvss-birth-demographics-coding-message.json": (422, [NOT_PROCESSED]),
    "nvss-birth-extraction-error-message.json": (422, [NOT_PROCESSED]),
    "nvss-birth-status-message.json": (422, [NOT_PROCESSED]),
    "nvss-birth-submission-acknowledgement-message.json": (422, [NOT_PROCESSED]),
    # R4 content with two structural errors (R5 fails too, with more): 400, both located.
    "nvss-birth-submission-message.json": (400, NVSS_STRUCTURE),
    "nvss-birth-update-message.json": (400, NVSS_STRUCTURE),
    # A void is accepted by event, but NVSS voids by certificate number: no facility, no focus.
    "nvss-birth-void-message.json": (
        422,
        [
            ("required", "Bundle.entry[0].resource.sender"),
            ("required", "Bundle.entry[0].resource.focus"),
        ],
    ),
    "opencrvs-v1-birth-notification-max.bundle.json": (400, [NOT_A_MESSAGE]),
    "opencrvs-v1-birth-notification-min.bundle.json": (400, [NOT_A_MESSAGE]),
    "opencrvs-v2-notify-event-max.json": (400, [("structure", "Bundle.resourceType")]),
    "who-smart-immz-bcg-infant-immunization.json": (400, [("structure", "Immunization")]),
    "who-smart-immz-hepb-birthdose-immunization.json": (400, [("structure", "Immunization")]),
    "who-smart-immz-hepb-birthdose-patient.json": (400, [("structure", "Patient")]),
}
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared examples missing: {SHARED}")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def rejection(raw: bytes, now: datetime | None = None) -> IntakeRejectedError:
    with pytest.raises(IntakeRejectedError) as caught:
        parse_message(raw, now)
    return caught.value


def located(error: IntakeRejectedError) -> list[tuple[str, str | None]]:
    return [(issue.code, issue.expression) for issue in error.issues]


@needs_shared
def test_every_shared_example_has_an_expected_outcome() -> None:
    assert sorted(p.name for p in SHARED.glob("*.json")) == sorted(SHARED_OUTCOMES)


@needs_shared
@pytest.mark.parametrize("name", sorted(SHARED_OUTCOMES))
def test_shared_example_outcome(name: str) -> None:
    status, issues = SHARED_OUTCOMES[name]
    error = rejection((SHARED / name).read_bytes())
    assert (error.status, located(error)) == (status, issues)
    assert all(issue.severity == "error" and issue.diagnostics for issue in error.issues)


@needs_shared
def test_nvss_submission_echoes_its_message_id_and_names_the_version() -> None:
    error = rejection((SHARED / "nvss-birth-submission-message.json").read_bytes())
    assert error.message_id == "c36cfa0d-f3d4-4b1a-9df4-410f640b50c3"
    assert all(issue.diagnostics.endswith("(FHIR R4)") for issue in error.issues)


@needs_shared
def test_nvss_submission_once_structurally_fixed_lacks_only_the_chinese_profile() -> None:
    data = orjson.loads((SHARED / "nvss-birth-submission-message.json").read_bytes())
    document = data["entry"][2]["resource"]["entry"]
    document[0]["resource"] |= {"author": [{"display": "Mitre"}], "date": "2023-10-25"}
    document[1]["resource"]["id"] = "child"
    error = rejection(orjson.dumps(data), IN_2019)
    mother = "Bundle.entry[2].resource.entry[2].resource"
    assert (error.status, located(error)) == (
        422,
        [
            ("required", "Bundle.entry[0].resource.sender"),
            ("required", f"{mother}.address"),  # no hukou address
            ("required", f"{mother}.address"),  # no residence address
            ("required", "Bundle.entry"),  # no place of birth with a division code
        ],
    )


def _bfdr_message(doc: dict[str, Any]) -> dict[str, Any]:
    header = {
        "resourceType": "MessageHeader",
        "id": "bfdr-1",
        "eventUri": "http://nchs.cdc.gov/birth_submission",
        "source": {"endpoint": "http://mitre.org/bfdr"},
        "sender": {"reference": "Organization/organization-south-hospital"},
        "focus": [{"reference": "urn:uuid:document"}],
    }
    entries = [{"fullUrl": "urn:uuid:header", "resource": header}]
    entries.append({"fullUrl": "urn:uuid:document", "resource": doc})
    return {"resourceType": "Bundle", "type": "message", "entry": entries}


@needs_shared
def test_bfdr_provider_report_maps_once_it_carries_our_chinese_identifiers() -> None:
    nl = "https://newborn-ledger.org/fhir"
    doc = orjson.loads((SHARED / "bfdr-provider-live-birth-document-babyg-quinn.json").read_bytes())
    by_id = {entry["resource"].get("id"): entry["resource"] for entry in doc["entry"]}
    by_id["organization-south-hospital"]["identifier"] = [
        {"system": f"{nl}/sid/uscc", "value": USCC}
    ]
    division = {"url": f"{nl}/StructureDefinition/division-code", "valueCode": "430602"}
    by_id["location-south-hospital"]["address"]["extension"] = [division]
    by_id["patient-mother-jada-ann-quinn"]["address"] = [
        {
            "extension": [
                {"url": f"{nl}/StructureDefinition/address-kind", "valueCode": kind},
                division,
            ]
        }
        for kind in ("hukou", "residence")
    ]
    parsed = parse_message(orjson.dumps(_bfdr_message(doc)), IN_2019)
    assert isinstance(parsed.command, NotifyBirth)
    facts = parsed.command.facts
    assert (parsed.kind, parsed.record_ref, facts.sex) == ("notify", "9932702", "female")
    assert (facts.birth_weight_g, facts.gestation_weeks) == (2500, 36)
    assert (facts.apgar_1, facts.apgar_5, facts.multiple_birth) == (5, 7, 1)
    assert facts.born_at == datetime(2019, 2, 12, 13, 0, tzinfo=timezone(timedelta(hours=-7)))
    assert facts.father is not None  # the RelatedPerson with v3-RoleCode NFTH (natural father)


def expected_full_facts() -> BirthFacts:
    return BirthFacts(
        facility_uscc=USCC,
        record_ref="ZY2026112000123",
        born_at=datetime(2026, 11, 20, 9, 32, tzinfo=CST),
        sex="female",
        birth_division="430602",
        mother=Parent("420102199403081288", "王芳", "13907300001", "420102", "430602"),
        father=Parent("430602199207153175", "李强", "13907300002", "430602", None),
        child_name="李安然",
        certificate_number="R430001234",
        multiple_birth=1,
        household_choice="mother",
        birth_weight_g=3350,
        gestation_weeks=39,
        apgar_1=9,
        apgar_5=10,
        birth_doses=("hepb-1", "bcg"),
    )


def test_full_notification() -> None:
    raw = fixture("notification-full.json")
    parsed = parse_message(raw)
    expected_command = NotifyBirth(
        "b1f0c2d4-6a8e-4c1b-9f3d-5e7a9c1b3d01", expected_full_facts(), raw
    )
    assert parsed == ParsedMessage(
        "notify",
        "b1f0c2d4-6a8e-4c1b-9f3d-5e7a9c1b3d01",
        USCC,
        "ZY2026112000123",
        expected_command,
        "https://his.yueyang-mch.example.cn/fhir",
    )
    assert BirthFacts.from_dict(expected_command.facts.to_dict()) == expected_command.facts


def test_minimal_notification_takes_the_birth_place_from_the_facility() -> None:
    parsed = parse_message(fixture("notification-minimal.json"))
    assert isinstance(parsed.command, NotifyBirth)
    facts = parsed.command.facts
    assert facts.born_at == datetime(2026, 11, 20, tzinfo=CST)  # no birthTime: midnight, China time
    assert facts.mother == Parent("420102199403081288", None, "13907300001", "420102", "430602")
    assert (facts.birth_division, facts.child_name, facts.household_choice) == (
        "430602",
        None,
        None,
    )
    assert (facts.father, facts.birth_weight_g, facts.birth_doses) == (None, None, ())


def test_update_is_a_correction_of_the_birth_weight_only() -> None:
    full, update = (
        parse_message(fixture("notification-full.json")),
        parse_message(fixture("notification-update.json")),
    )
    assert isinstance(full.command, NotifyBirth)
    assert isinstance(update.command, CorrectNotification)
    assert (update.kind, update.record_ref, update.facility_uscc) == (
        "update",
        full.record_ref,
        USCC,
    )
    assert update.message_id != full.message_id
    assert changed_fields(full.command.facts.to_dict(), update.command.facts.to_dict()) == [
        "birth_weight_g"
    ]
    assert update.command.facts.birth_weight_g == 3280


def test_void_needs_only_header_facility_and_record_key() -> None:
    raw = fixture("notification-void.json")
    parsed = parse_message(raw)
    assert parsed.kind == "void"
    assert parsed.command == VoidNotification(
        "b1f0c2d4-6a8e-4c1b-9f3d-5e7a9c1b3d04", USCC, "ZY2026112000123", raw_message=raw
    )


def test_twins_share_the_delivery_and_keep_their_own_record() -> None:
    twins = [parse_message(fixture(f"notification-twin-{x}.json")) for x in "ab"]
    facts = [t.command.facts for t in twins if isinstance(t.command, NotifyBirth)]
    assert [f.delivery_ref for f in facts] == ["D-2026-1120-0042"] * 2
    assert [f.multiple_birth for f in facts] == [1, 2]
    assert [t.record_ref for t in twins] == ["ZY2026112000131", "ZY2026112000132"]


def test_r5_content_is_accepted_when_r4_fails() -> None:
    parsed = parse_message(fixture("notification-r5.json"))
    assert isinstance(parsed.command, NotifyBirth)
    expected = expected_full_facts()
    assert parsed.command.facts.to_dict() == expected.to_dict() | {"record_ref": "ZY2026112000151"}
    assert parsed.source_endpoint == "https://his.yueyang-mch.example.cn/fhir"


BAD_FIXTURES = {
    "notification-bad-check-character.json": [
        ("value", "Bundle.entry[3].resource.identifier[0].value")
    ],
    "notification-missing-division.json": [
        ("required", "Bundle.entry[3].resource.address[0].extension")
    ],
    "notification-impossible-weight.json": [
        ("value", "Bundle.entry[7].resource.valueQuantity.value")
    ],
    "notification-no-birthdate.json": [("required", "Bundle.entry[2].resource.birthDate")],
}


@pytest.mark.parametrize("name", sorted(BAD_FIXTURES))
def test_bad_fixture_is_422_with_the_located_issue(name: str) -> None:
    error = rejection(fixture(name))
    assert (error.status, located(error)) == (422, BAD_FIXTURES[name])
    assert error.message_id is not None


def test_every_profile_fixture_is_covered() -> None:
    good = {"full", "minimal", "update", "void", "twin-a", "twin-b", "r5"}
    expected = {f"notification-{n}.json" for n in good} | set(BAD_FIXTURES)
    assert {p.name for p in FIXTURES.glob("*.json")} == expected


def test_parsing_is_deterministic() -> None:
    raw = fixture("notification-full.json")
    assert parse_message(raw) == parse_message(raw)


def test_the_hospital_guide_shows_the_current_full_example() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "hospital-integration.md").read_text("utf-8")
    assert fixture("notification-full.json").decode("utf-8").rstrip("\n") in guide
