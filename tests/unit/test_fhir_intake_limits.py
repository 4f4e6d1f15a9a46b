"""Issue 16: what the intake took without question is refused, each with a located 422."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.births.commands import NotifyBirth
from domain.kernel.identifiers import make_citizen_id
from integrations.hospital.birth_notification import IntakeRejectedError, parse_message
from tests.unit.test_fhir_intake_rules import (
    CHILD,
    FIXTURES,
    HEADER,
    MOTHER,
    Change,
    drop,
    put,
    variant,
)

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 20, 16, 0, tzinfo=CST)  # the fixtures' sending time
E = "Bundle.entry"
BIRTH = (*CHILD, "birthDate")
NO_TIME = drop((*CHILD, "_birthDate"))
KEY = (*CHILD, "identifier", 0, "value")
DIVISION = "https://newborn-ledger.org/fhir/StructureDefinition/division-code"


def born(day: str) -> list[Change]:
    return [put(BIRTH, day), NO_TIME]


def born_at(at: datetime) -> list[Change]:
    time = (*CHILD, "_birthDate", "extension", 0, "valueDateTime")
    return [put(BIRTH, at.date().isoformat()), put(time, at.isoformat())]


def append(entry: Any) -> Change:
    def change(data: dict[str, Any]) -> None:
        data["entry"].append(entry(data))

    return change


def copy_of(position: int, url: str) -> Change:
    return append(lambda d: {"fullUrl": url, "resource": d["entry"][position]["resource"]})


def mother_id_born(day: date) -> Change:
    return put((*MOTHER, "identifier", 0, "value"), make_citizen_id("420102", day, 128))


CHILD_BIRTH = [("value", f"{E}[2].resource.birthDate")]
REFUSED: dict[str, tuple[list[Change], list[tuple[str, str]]]] = {
    "born in 2099": (born("2099-01-01"), CHILD_BIRTH),
    "born in 9999": (born("9999-12-31"), CHILD_BIRTH),
    "born in 0001": (born("0001-01-01"), CHILD_BIRTH),
    "born in 1850": (born("1850-06-01"), CHILD_BIRTH),
    "born tomorrow": (born("2026-11-21"), CHILD_BIRTH),
    "born 20 minutes from now": (born_at(NOW + timedelta(minutes=20)), CHILD_BIRTH),
    "born over 6 years ago": (born("2020-11-19"), CHILD_BIRTH),
    "mother born after the child": (
        [drop((*MOTHER, "identifier")), put((*MOTHER, "birthDate"), "2026-12-01")],
        [("value", f"{E}[3].resource.birthDate")],
    ),
    "mother aged 6": (
        [drop((*MOTHER, "identifier")), put((*MOTHER, "birthDate"), "2020-01-01")],
        [("value", f"{E}[3].resource.birthDate")],
    ),
    "mother aged 86": (
        [drop((*MOTHER, "identifier")), put((*MOTHER, "birthDate"), "1940-01-01")],
        [("value", f"{E}[3].resource.birthDate")],
    ),
    "mother aged 7 by her citizen ID": (
        [drop((*MOTHER, "birthDate")), mother_id_born(date(2019, 1, 1))],
        [("value", f"{E}[3].resource.identifier[0].value")],
    ),
    "sender pointing nowhere": (
        [put((*HEADER, "sender", "reference"), "urn:uuid:nowhere")],
        [("not-found", f"{E}[0].resource.sender")],
    ),
    "sender pointing at the child": (
        [put((*HEADER, "sender", "reference"), "urn:uuid:0c7e3d1a-5b2f-4e8a-9d61-3f4a2b1c0d03")],
        [("value", f"{E}[0].resource.sender")],
    ),
    "child twice": ([copy_of(2, "urn:uuid:child-again")], [("value", f"{E}[13].resource")]),
    "mother twice": ([copy_of(3, "urn:uuid:mother-again")], [("value", f"{E}[13].resource")]),
    "father twice": ([copy_of(4, "urn:uuid:father-again")], [("value", f"{E}[13].resource")]),
    "header twice": ([copy_of(0, "urn:uuid:header-again")], [("value", f"{E}[13].resource")]),
    "fullUrl twice": (
        [append(lambda d: {**d["entry"][12], "resource": {**d["entry"][12]["resource"]}})],
        [("value", f"{E}[13].fullUrl")],
    ),
    "province as hukou": (
        [put((*MOTHER, "address", 0, "extension", 1, "valueCode"), "420000")],
        [("value", f"{E}[3].resource.address[0].extension[1].valueCode")],
    ),
    "prefecture as residence": (
        [put((*MOTHER, "address", 1, "extension", 1, "valueCode"), "430600")],
        [("value", f"{E}[3].resource.address[1].extension[1].valueCode")],
    ),
    "Arabic-Indic digits in the hukou division": (
        [put((*MOTHER, "address", 0, "extension", 1, "valueCode"), "42\u0660\u0661\u0660\u0662")],
        [("value", f"{E}[3].resource.address[0].extension[1].valueCode")],
    ),
    "full-width digits in the mother's citizen ID": (
        [put((*MOTHER, "identifier", 0, "value"), "\uff1420102199403081288")],
        [("value", f"{E}[3].resource.identifier[0].value")],
    ),
    "multipleBirthInteger 99": (
        [put((*CHILD, "multipleBirthInteger"), 99)],
        [("value", f"{E}[2].resource.multipleBirthInteger")],
    ),
    "20,000-character phone": (
        [put((*MOTHER, "telecom", 0, "value"), "1" * 20_000)],
        [("value", f"{E}[3].resource.telecom[0].value")],
    ),
    "a phone in words": (
        [put((*MOTHER, "telecom", 0, "value"), "call the ward")],
        [("value", f"{E}[3].resource.telecom[0].value")],
    ),
    "20,000-character mother's name": (
        [put((*MOTHER, "name", 0, "given"), ["芳" * 20_000])],
        [("value", f"{E}[3].resource.name[0]")],
    ),
    "control character in the child's name": (
        [put((*CHILD, "name", 0, "text"), "李\x07安然")],
        [("value", f"{E}[2].resource.name[0].text")],
    ),
    "NUL in the record key": (
        [put(KEY, "ZY2026\x00112000123")],
        [("value", f"{E}[2].resource.identifier[0].value")],
    ),
    "5,000-character record key": (
        [put(KEY, "Z" * 5000)],
        [("value", f"{E}[2].resource.identifier[0].value")],
    ),
    "65-character record key": (
        [put(KEY, "Z" * 65)],
        [("value", f"{E}[2].resource.identifier[0].value")],
    ),
    "zero-width space in the record key": (
        [put(KEY, "ZY2026\u200b112000123")],
        [("value", f"{E}[2].resource.identifier[0].value")],
    ),
    "65-character delivery id": (
        [
            lambda d: d["entry"][2]["resource"]["identifier"].append(
                {"system": "https://newborn-ledger.org/fhir/sid/delivery", "value": "D" * 65}
            ),
        ],
        [("value", f"{E}[2].resource.identifier[2].value")],
    ),
    "65-character message id": (
        [put((*HEADER, "id"), "m" * 65)],
        [("value", f"{E}[0].resource.id")],
    ),
    "2,000-character source endpoint": (
        [put((*HEADER, "source", "endpoint"), "https://h.example/" + "x" * 2000)],
        [("value", f"{E}[0].resource.source.endpoint")],
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_with_a_located_422(case: str) -> None:
    changes, issues = REFUSED[case]
    with pytest.raises(IntakeRejectedError) as caught:
        parse_message(variant(*changes), NOW)
    found = [(i.code, i.expression) for i in caught.value.issues]
    assert (caught.value.status, found) == (422, issues)


ACCEPTED: dict[str, list[Change]] = {
    "born 5 minutes from now (the sender's clock)": born_at(NOW + timedelta(minutes=5)),
    "born 5 years ago": born("2021-11-20"),
    "born today": born("2026-11-20"),
    "Dongguan (a city without counties) as hukou": [
        put((*MOTHER, "address", 0, "extension", 1, "valueCode"), "441900")
    ],
    "a 64-character record key": [put(KEY, "Z" * 64)],
    "a formatted phone": [put((*MOTHER, "telecom", 0, "value"), "+86 (730) 822-1234")],
    "mother aged 45 by her citizen ID only": [
        drop((*MOTHER, "birthDate")),
        mother_id_born(date(1981, 1, 1)),
    ],
    "birth order 9": [put((*CHILD, "multipleBirthInteger"), 9)],
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_still_accepted(case: str) -> None:
    assert isinstance(parse_message(variant(*ACCEPTED[case]), NOW).command, NotifyBirth)


def test_the_fixtures_stay_accepted_by_the_clock_of_their_day() -> None:
    refused = ("bad-check", "impossible-weight", "missing-division", "no-birthdate")
    for path in sorted(FIXTURES.glob("notification-*.json")):
        if not any(part in path.name for part in refused):
            assert parse_message(path.read_bytes(), NOW).facility_uscc
