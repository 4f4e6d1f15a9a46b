"""Distinct, profile-conformant ~10 kB birth-notification messages for the benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import orjson

from domain.births.facts import BirthFacts, Parent
from domain.kernel.identifiers import make_citizen_id
from integrations.hospital import identifiers as nl
from integrations.hospital.writer import notification_message

HOSPITAL = "12430600MA4L0BHT5Q"  # the synthetic Yueyang hospital of the test suite
BIRTH_DIVISION = "430602"  # 岳阳楼区: births happen at the alliance hub
CST = timezone(timedelta(hours=8))
# Mothers' hukou counties: the hub itself and four alliance members in other provinces.
HUKOU = ("420102", "440106", "310115", "510104", "430602")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("芳", "静", "丽", "婷", "敏", "燕", "娜", "霞", "秀英", "桂兰")
FATHER_GIVEN = ("伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "建国", "志明")
CHILD_GIVEN = ("小明", "一诺", "梓涵", "子轩", "欣怡", "浩然", "雨桐", "沐宸")
STREETS = ("建设路", "人民路", "解放大道", "中山路", "洞庭北路", "南湖大道", "巴陵中路")
# Extra newborn measurements a real HIS sends (the intake ignores codes it does not read).
EXTRA_OBSERVATIONS = (
    ("89269-5", "Body height Measured --at birth", 50, "cm"),
    ("8290-9", "Head Occipital-frontal circumference at birth", 34, "cm"),
    ("9271-8", "1 minute Apgar Respiratory effort", 2, None),
    ("32396-9", "Newborn hearing screen", 1, None),
    ("54089-8", "Newborn screening panel", 1, None),
    ("8867-4", "Heart rate", 140, "/min"),
)


@dataclass(frozen=True)
class Message:
    """One request body and the keys it carries."""

    message_id: str
    record_ref: str
    body: bytes


def birth_facts(run: str, i: int) -> BirthFacts:
    """Facts for child number `i` of a run: every identifier and name varies with `i`."""
    hukou = HUKOU[i % len(HUKOU)]
    born_at = datetime(2026, 11, 20, 8, 30, tzinfo=CST) + timedelta(minutes=i % 5000)
    surname = SURNAMES[i % len(SURNAMES)]
    mother = Parent(
        citizen_id=make_citizen_id(hukou, date(1990 + i % 10, 1 + i % 12, 1 + i % 28), i % 999),
        name=surname + GIVEN[i % len(GIVEN)],
        phone=f"138{i % 100_000_000:08d}",
        hukou_division=hukou,
        residence_division=BIRTH_DIVISION,
    )
    father = Parent(
        citizen_id=make_citizen_id(hukou, date(1988 + i % 10, 1 + i % 12, 1 + i % 28), i % 997),
        name=SURNAMES[(i + 7) % len(SURNAMES)] + FATHER_GIVEN[i % len(FATHER_GIVEN)],
        phone=f"139{i % 100_000_000:08d}",
        hukou_division=hukou,
        residence_division=BIRTH_DIVISION,
    )
    return BirthFacts(
        facility_uscc=HOSPITAL,
        record_ref=f"BR-{run}-{i:08d}",
        born_at=born_at,
        sex=("female", "male")[i % 2],
        birth_division=BIRTH_DIVISION,
        mother=mother,
        father=father,
        child_name=surname + CHILD_GIVEN[i % len(CHILD_GIVEN)],
        delivery_ref=f"DL-{run}-{i:08d}",
        household_choice="mother",
        birth_weight_g=2800 + i % 1200,
        gestation_weeks=37 + i % 5,
        apgar_1=8 + i % 3,
        apgar_5=9 + i % 2,
        birth_doses=("hepb-1", "bcg"),
    )


def _address_lines(i: int, who: str) -> dict[str, Any]:
    street = STREETS[(i + len(who)) % len(STREETS)]
    return {
        "line": [f"{street}{1 + i % 400}号", f"{1 + i % 30}栋{1 + i % 6}单元{101 + i % 2800}室"],
        "postalCode": f"41{i % 10000:04d}",
    }


def _observation(child_url: str, code: str, text: str, value: int, unit: str | None) -> Any:
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": nl.LOINC_SYSTEM, "code": code, "display": text}]},
        "subject": {"reference": child_url},
    }
    if unit:
        observation["valueQuantity"] = {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        }
    else:
        observation["valueInteger"] = value
    return observation


def pad(message: dict[str, Any], i: int) -> dict[str, Any]:
    """Realistic extra content: street addresses, contact points, more Observations."""
    entries = message["entry"]
    child_url = entries[2]["fullUrl"]
    for entry in entries:
        resource = entry["resource"]
        addresses = resource.get("address") or []
        for address in addresses if isinstance(addresses, list) else [addresses]:
            address.update(_address_lines(i, resource["resourceType"]))
        if resource["resourceType"] == "Organization":
            resource["telecom"] = [{"system": "phone", "value": "0730-8221234", "use": "work"}]
            resource["alias"] = ["岳阳市妇幼保健院", "Yueyang Maternal and Child Health Hospital"]
    entries += [
        {
            "fullUrl": f"{child_url}-extra-{n}",
            "resource": _observation(child_url, code, text, value, unit),
        }
        for n, (code, text, value, unit) in enumerate(EXTRA_OBSERVATIONS)
    ]
    return message


def message(run: str, i: int) -> Message:
    """Message number `i` of a run, as the bytes a hospital sends (about 10 kB).

    `run` becomes part of FHIR ids: letters, digits and '-' only."""
    facts = birth_facts(run, i)
    message_id = f"bench-{run}-{i:08d}"
    body = pad(notification_message(facts, message_id, facility_name="岳阳市妇幼保健院"), i)
    return Message(message_id, facts.record_ref, orjson.dumps(body))


def messages(run: str, count: int, start: int = 0) -> Iterator[Message]:
    for i in range(start, start + count):
        yield message(run, i)
