"""Checks across entries: one header, one child, one mother, one father, a plausible mother."""

from __future__ import annotations

from collections import Counter
from datetime import date

from domain.births.facts import Parent
from integrations.hospital.bundle_index import BundleIndex, Entry
from integrations.hospital.elements import full_date, has_coding, identifiers, typed_identifiers
from integrations.hospital.identifiers import (
    CITIZEN_ID_SYSTEM,
    FATHER_CODES,
    RECORD_KEY_TYPE,
    ROLE_CODE_SYSTEM,
    V2_0203_SYSTEM,
)
from integrations.hospital.issues import Issues
from integrations.hospital.limits import mother_age_problem


def duplicates(index: BundleIndex, issues: Issues) -> None:
    """A second MessageHeader, a fullUrl twice in one Bundle, a second father."""
    for entry in index.of_type("MessageHeader")[1:]:
        issues.value(entry.path, "A message has one MessageHeader: its first entry")
    keyed = [(entry, (_bundle_of(entry), entry.full_url)) for entry in index.entries]
    urls = Counter(key for entry, key in keyed if entry.full_url)
    seen: set[tuple[str, str | None]] = set()
    for entry, key in keyed:
        if entry.full_url and urls[key] > 1 and key in seen:
            where = entry.path.removesuffix(".resource") + ".fullUrl"
            issues.value(where, f"fullUrl {entry.full_url!r} is already an entry of this Bundle")
        seen.add(key)
    for entry in _fathers(index)[1:]:
        issues.value(entry.path, "A second father RelatedPerson: a child has one father")


def _bundle_of(entry: Entry) -> str:
    """The path of the Bundle the entry belongs to."""
    return entry.path.rsplit(".entry[", 1)[0]


def _fathers(index: BundleIndex) -> list[Entry]:
    return [
        entry
        for entry in index.of_type("RelatedPerson")
        if any(
            has_coding(r, ROLE_CODE_SYSTEM, FATHER_CODES) for r in entry.resource.relationship or []
        )
    ]


def extra_patients(child: Entry, mother: Entry, index: BundleIndex, issues: Issues) -> None:
    """One message is for one child and its mother: any other Patient is refused."""
    keys = _record_keys(child)
    for entry in index.of_type("Patient"):
        if entry.resource is child.resource or entry.resource is mother.resource:
            continue
        if keys & _record_keys(entry) or entry.resource == child.resource:
            issues.value(entry.path, "The child appears twice: one Patient per child")
        else:
            issues.value(entry.path, "A third Patient: a message names one child and its mother")


def _record_keys(entry: Entry) -> set[str]:
    found = typed_identifiers(entry.resource, V2_0203_SYSTEM, RECORD_KEY_TYPE)
    return {str(value) for _, value in found if value}


def mother_age(entry: Entry, mother: Parent, child_born: date, issues: Issues) -> None:
    """The mother is born before the child, and aged 10-70 at the birth."""
    born = full_date(entry.resource.birthDate)
    where = f"{entry.path}.birthDate"
    if born is None and mother.citizen_id:
        position = next(i for i, _ in identifiers(entry.resource, CITIZEN_ID_SYSTEM))
        where = f"{entry.path}.identifier[{position}].value"
        number = mother.citizen_id
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    problem = mother_age_problem(born, child_born) if born else None
    if problem is not None:
        issues.value(where, problem)
