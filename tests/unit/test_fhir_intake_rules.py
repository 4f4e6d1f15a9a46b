"""Hospital FHIR intake: each profile rule, shown on a one-change variant of a fixture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from domain.births.commands import NotifyBirth
from domain.births.facts import BirthFacts
from integrations.hospital.birth_notification import IntakeRejectedError, parse_message

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"
NVSS = "http://nchs.cdc.gov/birth_submission"
Change = Callable[[dict[str, Any]], None]
Path_ = tuple[str | int, ...]
HEADER, ORG, CHILD, MOTHER, FATHER = (("entry", i, "resource") for i in range(5))
LOCATION, WEIGHT, GESTATION, APGAR1, APGAR5, HEPB, BCG = (
    ("entry", i, "resource") for i in range(6, 13)
)
E = "Bundle.entry"


def _parent(data: Any, path: Path_) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


def put(path: Path_, value: object) -> Change:
    def change(data: dict[str, Any]) -> None:
        _parent(data, path)[path[-1]] = value

    return change


def drop(path: Path_) -> Change:
    def change(data: dict[str, Any]) -> None:
        del _parent(data, path)[path[-1]]

    return change


def variant(*changes: Change, name: str = "notification-full.json") -> bytes:
    data = orjson.loads((FIXTURES / name).read_bytes())
    for change in changes:
        change(data)
    return orjson.dumps(data)


def facts_of(raw: bytes) -> BirthFacts:
    command = parse_message(raw).command
    assert isinstance(command, NotifyBirth)
    return command.facts


CHOICE = (*CHILD, "extension", 0, "valueCode")
REJECTED: dict[str, tuple[list[Change], int, list[tuple[str, str]]]] = {
    "no message id": ([drop((*HEADER, "id"))], 422, [("required", f"{E}[0].resource.id")]),
    "message id over 64": (
        [put((*HEADER, "id"), "a" * 65)],
        422,
        [("value", f"{E}[0].resource.id")],
    ),
    "no focus": ([drop((*HEADER, "focus"))], 422, [("required", f"{E}[0].resource.focus")]),
    "dangling focus": (
        [put((*HEADER, "focus"), [{"reference": "urn:uuid:nowhere"}])],
        422,
        [("not-found", f"{E}[0].resource.focus[0]")],
    ),
    "focus on the facility": (
        [put((*HEADER, "focus"), [{"reference": "Organization/yueyang-mch"}])],
        422,
        [("value", f"{E}[0].resource.focus[0]")],
    ),
    "unknown event code": (
        [put((*HEADER, "eventCoding", "code"), "birth-registration")],
        422,
        [("not-supported", f"{E}[0].resource.eventCoding")],
    ),
    "foreign event system": (
        [put((*HEADER, "eventCoding", "system"), "http://example.org/events")],
        422,
        [("not-supported", f"{E}[0].resource.eventCoding")],
    ),
    "a response message": (
        [put((*HEADER, "response"), {"identifier": "abc", "code": "ok"})],
        422,
        [("not-supported", f"{E}[0].resource.response")],
    ),
    "collection bundle": ([put(("type",), "collection")], 400, [("structure", "Bundle.type")]),
    "header not first": (
        [lambda d: d["entry"].reverse()],
        400,
        [("structure", f"{E}[0].resource")],
    ),
    "unknown resource type": (
        [put((*MOTHER, "resourceType"), "Mother")],
        400,
        [("structure", f"{E}[3].resource")],
    ),
    "impossible calendar date": (
        [put((*CHILD, "birthDate"), "2026-13-40")],
        400,
        [("value", f"{E}[2].resource.birthDate")],
    ),
    "birth time without offset": (
        [put((*CHILD, "_birthDate", "extension", 0, "valueDateTime"), "2026-11-20T09:32:00")],
        400,
        [("value", f"{E}[2].resource.birthDate.extension[0].valueDateTime")],
    ),
    "partial birth date": (
        [put((*CHILD, "birthDate"), "2026-11")],
        422,
        [("value", f"{E}[2].resource.birthDate")],
    ),
    "birth time on another day": (
        [put((*CHILD, "_birthDate", "extension", 0, "valueDateTime"), "2026-11-21T01:00:00+08:00")],
        422,
        [("value", f"{E}[2].resource.birthDate.extension[0].valueDateTime")],
    ),
    "no gender": ([drop((*CHILD, "gender"))], 422, [("required", f"{E}[2].resource.gender")]),
    "no record key": (
        [drop((*CHILD, "identifier", 0))],
        422,
        [("required", f"{E}[2].resource.identifier")],
    ),
    "record key without value": (
        [drop((*CHILD, "identifier", 0, "value"))],
        422,
        [("required", f"{E}[2].resource.identifier[0].value")],
    ),
    "bad certificate number": (
        [put((*CHILD, "identifier", 1, "value"), "4300012345")],
        422,
        [("value", f"{E}[2].resource.identifier[1].value")],
    ),
    "bad household choice": (
        [put(CHOICE, "grandmother")],
        422,
        [("value", f"{E}[2].resource.extension[0].valueCode")],
    ),
    "father's household without his hukou": (
        [put(CHOICE, "father"), drop((*FATHER, "address"))],
        422,
        [("required", f"{E}[4].resource.address")],
    ),
    "father's household without a father": (
        [put(CHOICE, "father"), drop(("entry", 4))],
        422,
        [("required", f"{E}[2].resource.extension[0]")],
    ),
    "birth order zero": (
        [put((*CHILD, "multipleBirthInteger"), 0)],
        422,
        [("value", f"{E}[2].resource.multipleBirthInteger")],
    ),
    "no mother": ([drop(("entry", 3))], 422, [("required", "Bundle.entry")]),
    "mother without citizen ID or phone": (
        [drop((*MOTHER, "identifier")), drop((*MOTHER, "telecom"))],
        422,
        [("required", f"{E}[3].resource.identifier")],
    ),
    "mother's ID not her birth date": (
        [put((*MOTHER, "birthDate"), "1994-03-09")],
        422,
        [("value", f"{E}[3].resource.identifier[0].value")],
    ),
    "invalid residence division": (
        [put((*MOTHER, "address", 1, "extension", 1, "valueCode"), "999999")],
        422,
        [("value", f"{E}[3].resource.address[1].extension[1].valueCode")],
    ),
    "unknown address kind": (
        [put((*MOTHER, "address", 1, "extension", 0, "valueCode"), "work")],
        422,
        [
            ("value", f"{E}[3].resource.address[1].extension[0].valueCode"),
            ("required", f"{E}[3].resource.address"),  # so no residence address
        ],
    ),
    "invalid birth place division": (
        [put((*LOCATION, "address", "extension", 0, "valueCode"), "43060")],
        422,
        [("value", f"{E}[6].resource.address.extension[0].valueCode")],
    ),
    "no birth place division anywhere": (
        [drop((*LOCATION, "address", "extension")), drop((*ORG, "address"))],
        422,
        [("required", f"{E}[6].resource.address.extension")],
    ),
    "no facility": (
        [drop((*HEADER, "sender")), drop((*ORG, "identifier"))],
        422,
        [("required", f"{E}[0].resource.sender")],
    ),
    "facility without USCC": (
        [drop((*ORG, "identifier"))],
        422,
        [("required", f"{E}[1].resource.identifier")],
    ),
    "bad USCC check character": (
        [put((*ORG, "identifier", 0, "value"), "12430600MB1A2B3C4X")],
        422,
        [("value", f"{E}[1].resource.identifier[0].value")],
    ),
    "weight in pounds": (
        [put((*WEIGHT, "valueQuantity", "code"), "[lb_av]")],
        422,
        [("value", f"{E}[7].resource.valueQuantity.code")],
    ),
    "weight 200 g": (
        [put((*WEIGHT, "valueQuantity", "value"), 200)],
        422,
        [("value", f"{E}[7].resource.valueQuantity.value")],
    ),
    "gestation 50 weeks": (
        [put((*GESTATION, "valueQuantity", "value"), 50)],
        422,
        [("value", f"{E}[8].resource.valueQuantity.value")],
    ),
    "Apgar 11": (
        [put((*APGAR1, "valueInteger"), 11)],
        422,
        [("value", f"{E}[9].resource.valueInteger")],
    ),
    "Apgar 7.5": (
        [drop((*APGAR5, "valueInteger")), put((*APGAR5, "valueQuantity"), {"value": 7.5})],
        422,
        [("value", f"{E}[10].resource.valueQuantity.value")],
    ),
    "HepB before birth": (
        [put((*HEPB, "occurrenceDateTime"), "2026-11-19")],
        422,
        [("value", f"{E}[11].resource.occurrenceDateTime")],
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_rule(case: str) -> None:
    changes, status, issues = REJECTED[case]
    with pytest.raises(IntakeRejectedError) as caught:
        parse_message(variant(*changes))
    assert (caught.value.status, [(i.code, i.expression) for i in caught.value.issues]) == (
        status,
        issues,
    )


def test_every_problem_is_reported_in_one_pass() -> None:
    changes = [
        REJECTED[case][0][0] for case in ("bad USCC check character", "bad certificate number")
    ]
    changes += [REJECTED[case][0][0] for case in ("invalid residence division", "Apgar 11")]
    changes += [put((*MOTHER, "identifier", 0, "value"), "420102199403081280")]
    changes += [put((*WEIGHT, "valueQuantity", "value"), 70000), drop((*CHILD, "gender"))]
    with pytest.raises(IntakeRejectedError) as caught:
        parse_message(variant(*changes))
    assert [issue.expression for issue in caught.value.issues] == [
        f"{E}[1].resource.identifier[0].value",
        f"{E}[2].resource.gender",
        f"{E}[2].resource.identifier[1].value",
        f"{E}[3].resource.address[1].extension[1].valueCode",
        f"{E}[3].resource.identifier[0].value",
        f"{E}[7].resource.valueQuantity.value",
        f"{E}[9].resource.valueInteger",
    ]


def test_every_structural_error_of_every_resource_is_reported_at_once() -> None:
    """fhir_core checks required primitives and choices only once an element's other fields
    validate: a missing Observation.status beside a bad Observation.code, or a missing
    Encounter.status beside a bad class, used to appear only after the first fix."""
    changes = [
        drop((*WEIGHT, "status")),
        put((*WEIGHT, "code"), "8339-4"),  # a string where a CodeableConcept belongs
        drop((*GESTATION, "status")),
        drop(("entry", 5, "resource", "status")),  # the Encounter (the birth stay)
        put(("entry", 5, "resource", "class"), []),
        drop((*HEPB, "occurrenceDateTime")),  # occurrence[x] is required
        put((*HEPB, "status"), 7),
    ]
    with pytest.raises(IntakeRejectedError) as caught:
        parse_message(variant(*changes))
    found = [(i.code, i.expression) for i in caught.value.issues]
    for expected in [
        ("required", f"{E}[7].resource.status"),
        ("value", f"{E}[7].resource.code"),
        ("required", f"{E}[8].resource.status"),
        ("required", f"{E}[11].resource.occurrence"),
    ]:
        assert expected in found
    assert f"{E}[5].resource.status" in [expression for _, expression in found]
    assert caught.value.status == 400
    expressions = [expression for _, expression in found]
    assert len(expressions) == len(set(expressions))  # each element once
