"""Hospital FHIR intake beyond the rule table: NVSS aliases, voids, fallbacks, units, R5."""

from __future__ import annotations

import pytest

from domain.births.commands import VoidNotification
from integrations.hospital.birth_notification import IntakeRejectedError, parse_message
from tests.unit.test_fhir_intake_rules import (
    BCG,
    CHILD,
    GESTATION,
    HEADER,
    LOCATION,
    NVSS,
    WEIGHT,
    E,
    drop,
    facts_of,
    put,
    variant,
)


@pytest.mark.parametrize(
    ("uri", "kind"),
    [(NVSS, "notify"), (f"{NVSS}_update", "update"), (f"{NVSS}_void", "void")],
)
def test_nvss_event_uris_are_aliases(uri: str, kind: str) -> None:
    parsed = parse_message(variant(drop((*HEADER, "eventCoding")), put((*HEADER, "eventUri"), uri)))
    assert parsed.kind == kind
    assert (
        type(parsed.command).__name__
        == {
            "notify": "NotifyBirth",
            "update": "CorrectNotification",
            "void": "VoidNotification",
        }[kind]
    )


def test_void_without_record_key() -> None:
    raw = variant(drop((*CHILD, "identifier")), name="notification-void.json")
    with pytest.raises(IntakeRejectedError) as caught:
        parse_message(raw)
    assert [(i.code, i.expression) for i in caught.value.issues] == [
        ("required", f"{E}[2].resource.identifier")
    ]


def test_void_ignores_the_birth_facts() -> None:
    raw = variant(
        put((*HEADER, "eventCoding", "code"), "birth-notification-void"),
        drop((*CHILD, "birthDate")),
    )
    assert isinstance(parse_message(raw).command, VoidNotification)


def test_facility_found_by_its_uscc_when_sender_is_missing() -> None:
    assert facts_of(variant(drop((*HEADER, "sender")))).facility_uscc == "12430600MB1A2B3C4W"


def test_birth_place_falls_back_to_the_facility_address() -> None:
    assert facts_of(variant(drop((*LOCATION, "address")))).birth_division == "430602"


def test_units_are_converted() -> None:
    weight = put((*WEIGHT, "valueQuantity"), {"value": 3.35, "code": "kg"})
    days = put((*GESTATION, "valueQuantity"), {"value": 275, "code": "d"})
    facts = facts_of(variant(weight, days))
    assert (facts.birth_weight_g, facts.gestation_weeks) == (3350, 39)


def test_withdrawn_records_are_ignored() -> None:
    weight = put((*WEIGHT, "status"), "entered-in-error")
    bcg = put((*BCG, "status"), "not-done")
    facts = facts_of(variant(weight, put((*WEIGHT, "valueQuantity", "value"), 33500), bcg))
    assert (facts.birth_weight_g, facts.birth_doses) == (None, ("hepb-1",))


def test_other_gender_is_recorded_as_unknown() -> None:
    assert facts_of(variant(put((*CHILD, "gender"), "other"))).sex == "unknown"


def test_r5_errors_are_reported_for_r5_content() -> None:
    raw = variant(put((*CHILD, "colour"), "blue"), name="notification-r5.json")
    with pytest.raises(IntakeRejectedError) as caught:
        parse_message(raw)
    issues = caught.value.issues
    assert [(i.code, i.expression) for i in issues] == [("structure", f"{E}[2].resource.colour")]
    assert issues[0].diagnostics.endswith("(FHIR R5)")


def test_r5_facility_address_is_read_from_its_contact() -> None:
    raw = variant(drop((*LOCATION, "address")), name="notification-r5.json")
    assert facts_of(raw).birth_division == "430602"
