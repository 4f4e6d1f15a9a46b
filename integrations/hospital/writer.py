"""Writes profile-conformant FHIR messages from birth facts (demo, simulators, benchmarks).

The inverse of parse_message: hospital systems that build their messages from a record
can use it as the reference, and the tests check that parsing what it writes gives back
the same facts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from domain.births.facts import BirthFacts, Parent
from domain.births.family_application import surname
from domain.kernel.identifiers import full_division_name
from integrations.hospital import identifiers as nl

JSON = dict[str, Any]
CVX_BY_DOSE = {dose: cvx for cvx, dose in nl.DOSE_BY_CVX.items()}


def _url(message_id: str, part: str) -> str:
    return f"urn:uuid:{uuid5(NAMESPACE_URL, f'{message_id}/{part}')}"


def _division(code: str, kind: str | None = None) -> JSON:
    extension = [{"url": nl.DIVISION_CODE_EXT, "valueCode": code}]
    if kind:
        extension.insert(0, {"url": nl.ADDRESS_KIND_EXT, "valueCode": kind})
    return {
        "extension": extension,
        "use": "home",
        "text": full_division_name(code),
        "country": "CN",
    }


def _name(full_name: str | None) -> list[JSON]:
    if not full_name:
        return []
    family = surname(full_name)
    return [
        {
            "use": "official",
            "family": family,
            "given": [full_name[len(family) :]],
            "text": full_name,
        }
    ]


def _person(parent: Parent, resource_type: str, child_url: str | None = None) -> JSON:
    resource: JSON = {"resourceType": resource_type}
    if parent.citizen_id:
        resource["identifier"] = [{"system": nl.CITIZEN_ID_SYSTEM, "value": parent.citizen_id}]
    if child_url:
        resource["patient"] = {"reference": child_url}
        resource["relationship"] = [
            {"coding": [{"system": nl.ROLE_CODE_SYSTEM, "code": nl.FATHER_CODE}]}
        ]
    if parent.name:
        resource["name"] = _name(parent.name)
    if parent.phone:
        resource["telecom"] = [{"system": "phone", "value": parent.phone, "use": "mobile"}]
    addresses = [
        _division(code, kind)
        for code, kind in (
            (parent.hukou_division, "hukou"),
            (parent.residence_division, "residence"),
        )
        if code
    ]
    if addresses:
        resource["address"] = addresses
    return resource


def _child(facts: BirthFacts) -> JSON:
    identifiers: list[JSON] = [
        {
            "type": {"coding": [{"system": nl.V2_0203_SYSTEM, "code": nl.RECORD_KEY_TYPE}]},
            "system": "urn:oid:2.16.156.10011.1.1",
            "value": facts.record_ref,
        }
    ]
    if facts.certificate_number:
        identifiers.append(
            {"system": nl.BIRTH_CERTIFICATE_SYSTEM, "value": facts.certificate_number}
        )
    if facts.delivery_ref:
        identifiers.append({"system": nl.DELIVERY_SYSTEM, "value": facts.delivery_ref})
    child: JSON = {
        "resourceType": "Patient",
        "identifier": identifiers,
        "gender": facts.sex,
        "birthDate": facts.born_on.isoformat(),
        "_birthDate": {
            "extension": [{"url": nl.BIRTH_TIME_EXT, "valueDateTime": facts.born_at.isoformat()}]
        },
    }
    if facts.household_choice:
        child["extension"] = [{"url": nl.HOUSEHOLD_CHOICE_EXT, "valueCode": facts.household_choice}]
    if facts.child_name:
        child["name"] = _name(facts.child_name)
    if facts.multiple_birth:
        child["multipleBirthInteger"] = facts.multiple_birth
    return child


def _observation(code: str, child_url: str, value: int, unit: str | None) -> JSON:
    observation: JSON = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": nl.LOINC_SYSTEM, "code": code}]},
        "subject": {"reference": child_url},
    }
    if unit:
        observation["valueQuantity"] = {
            "value": value,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        }
    else:
        observation["valueInteger"] = value
    return observation


def _clinical(facts: BirthFacts, child_url: str) -> list[JSON]:
    measured = [
        (nl.LOINC_BIRTH_WEIGHT, facts.birth_weight_g, "g"),
        (nl.LOINC_GESTATIONAL_AGE, facts.gestation_weeks, "wk"),
        (nl.LOINC_APGAR_1, facts.apgar_1, None),
        (nl.LOINC_APGAR_5, facts.apgar_5, None),
    ]
    resources = [
        _observation(code, child_url, value, unit)
        for code, value, unit in measured
        if value is not None
    ]
    given = (facts.born_at + timedelta(hours=2)).isoformat()
    resources += [
        {
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"coding": [{"system": nl.CVX_SYSTEM, "code": CVX_BY_DOSE[dose]}]},
            "patient": {"reference": child_url},
            "occurrenceDateTime": given,
            "protocolApplied": [{"doseNumberPositiveInt": 1}],
        }
        for dose in facts.birth_doses
    ]
    return resources


def notification_message(
    facts: BirthFacts,
    message_id: str,
    *,
    kind: str = "notify",
    facility_name: str = "",
    sent_at: datetime | None = None,
) -> JSON:
    """A message Bundle (notify, update or void) for one child, in our profile."""
    urls = {
        part: _url(message_id, part)
        for part in ("org", "child", "mother", "father", "stay", "place")
    }
    header: JSON = {
        "resourceType": "MessageHeader",
        "id": message_id,
        "eventCoding": {"system": nl.EVENT_SYSTEM, "code": nl.EVENT_CODE_BY_KIND[kind]},
        "source": {
            "name": facility_name or "hospital",
            "endpoint": f"urn:uscc:{facts.facility_uscc}",
        },
        "sender": {"reference": urls["org"]},
        "focus": [{"reference": urls["child"]}],
    }
    organization: JSON = {
        "resourceType": "Organization",
        "name": facility_name or None,
        "identifier": [{"system": nl.USCC_SYSTEM, "value": facts.facility_uscc}],
        "address": [_division(facts.birth_division)],
    }
    entries: list[tuple[str, JSON]] = [
        ("header", header),
        ("org", {k: v for k, v in organization.items() if v}),
    ]
    entries.append(("child", _child(facts)))
    if kind != "void":
        entries += _record_entries(facts, urls)
    return {
        "resourceType": "Bundle",
        "id": message_id,
        "type": "message",
        "timestamp": (sent_at or facts.born_at).isoformat(),
        "entry": [
            {"fullUrl": urls.get(part, _url(message_id, f"{part}-{i}")), "resource": r}
            for i, (part, r) in enumerate(entries)
        ],
    }


def _record_entries(facts: BirthFacts, urls: dict[str, str]) -> list[tuple[str, JSON]]:
    entries: list[tuple[str, JSON]] = [("mother", _person(facts.mother, "Patient"))]
    if facts.father:
        entries.append(("father", _person(facts.father, "RelatedPerson", urls["child"])))
    place: JSON = {"resourceType": "Location", "address": _division(facts.birth_division)}
    stay: JSON = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": urls["child"]},
        "period": {"start": facts.born_at.isoformat()},
        "location": [{"location": {"reference": urls["place"]}}],
        "serviceProvider": {"reference": urls["org"]},
    }
    entries += [("stay", stay), ("place", place)]
    entries += [(f"clinical-{i}", r) for i, r in enumerate(_clinical(facts, urls["child"]))]
    return entries
