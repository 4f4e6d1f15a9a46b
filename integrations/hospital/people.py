"""The child, mother and father of a birth notification: from Patient/RelatedPerson to facts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from domain.births.facts import HOUSEHOLD_CHOICES, Parent
from domain.kernel.errors import InvalidIdentifierError
from domain.kernel.identifiers import certificate_number, citizen_id, division_code
from integrations.hospital.bundle_index import BundleIndex, Entry, Resource
from integrations.hospital.elements import (
    aware_datetime,
    checked,
    code_value,
    extensions,
    full_date,
    has_coding,
    identifiers,
    located_name,
    located_phone,
    typed_identifiers,
)
from integrations.hospital.identifiers import (
    ADDRESS_KIND_EXT,
    ADDRESS_KINDS,
    BIRTH_CERTIFICATE_SYSTEM,
    BIRTH_TIME_EXT,
    CITIZEN_ID_SYSTEM,
    DELIVERY_SYSTEM,
    DIVISION_CODE_EXT,
    FATHER_CODES,
    HOUSEHOLD_CHOICE_EXT,
    RECORD_KEY_TYPE,
    ROLE_CODE_SYSTEM,
    V2_0203_SYSTEM,
)
from integrations.hospital.issues import Issues
from integrations.hospital.limits import (
    MAX_BIRTH_ORDER,
    MAX_NAME,
    birth_problem,
    clean_key,
    clean_phone,
    clean_text,
    county_level,
)

CHINA = timezone(timedelta(hours=8), "CST")
SEX_BY_GENDER = {"male": "male", "female": "female", "unknown": "unknown", "other": "unknown"}
Check = Callable[[str], str]


@dataclass(frozen=True)
class Child:
    """What the child Patient says, before it joins the rest of the facts."""

    born_at: datetime
    sex: str
    name: str | None
    certificate_number: str | None
    delivery_ref: str | None
    multiple_birth: int | None
    household_choice: str | None


def record_key(child: Entry, issues: Issues) -> str | None:
    """The hospital's birth record key: the child's identifier typed v2-0203|MR."""
    keys = list(typed_identifiers(child.resource, V2_0203_SYSTEM, RECORD_KEY_TYPE))
    if not keys:
        text = "The child has no record key (an identifier with type v2-0203|MR)"
        issues.required(f"{child.path}.identifier", text)
        return None
    position, value = keys[0]
    where = f"{child.path}.identifier[{position}].value"
    if value is None or not str(value).strip():
        issues.required(where, "The record key is empty")
        return None
    return clean_key(str(value).strip(), where, issues, "record key")


def record_key_path(child: Entry | None) -> str:
    """The FHIRPath of the child's record key value (the focus, if there is none)."""
    assert child is not None  # parse_message accepts no message without one
    keys = typed_identifiers(child.resource, V2_0203_SYSTEM, RECORD_KEY_TYPE)
    position = next((i for i, _ in keys), None)
    return child.path if position is None else f"{child.path}.identifier[{position}].value"


def read_child(child: Entry, issues: Issues, now: datetime) -> Child | None:
    """The child's facts; None when the birth date or sex is missing (issues say why)."""
    patient, born_at = child.resource, _born_at(child, issues, now)
    sex = SEX_BY_GENDER.get(patient.gender or "")
    if sex is None:
        issues.required(f"{child.path}.gender", "The child's gender is missing")
    certificate = _first_checked(child, BIRTH_CERTIFICATE_SYSTEM, certificate_number, issues)
    delivery_ref = _first_checked(child, DELIVERY_SYSTEM, _delivery_id, issues, ascii_only=False)
    multiple_birth = _multiple_birth(child, issues)
    household_choice = _household_choice(child, issues)
    name = _name(child, "child's name", issues)
    if born_at is None or sex is None:
        return None
    return Child(born_at, sex, name, certificate, delivery_ref, multiple_birth, household_choice)


def _delivery_id(value: str) -> str:
    """The delivery id, stripped and bounded like a record key."""
    found, issues = value.strip(), Issues()
    if clean_key(found, "", issues, "delivery id") is None:
        raise InvalidIdentifierError(issues.items[0].diagnostics, field="delivery")
    return found


def _name(entry: Entry, what: str, issues: Issues) -> str | None:
    name, where = located_name(entry.resource)
    return name if clean_text(name, f"{entry.path}.{where}", issues, MAX_NAME, what) else None


def _phone(entry: Entry, issues: Issues) -> str | None:
    number, where = located_phone(entry.resource)
    return number if clean_phone(number, f"{entry.path}.{where}", issues) else None


def _born_at(child: Entry, issues: Issues, now: datetime) -> datetime | None:
    patient, path = child.resource, child.path
    if patient.birthDate is None:
        issues.required(f"{path}.birthDate", "The child's birthDate is missing")
        return None
    born_on = full_date(patient.birthDate)
    if born_on is None:
        issues.value(f"{path}.birthDate", "birthDate must be a full date (YYYY-MM-DD)")
        return None
    at = _birth_time(child, born_on, issues) or datetime.combine(born_on, time(), tzinfo=CHINA)
    problem = birth_problem(at, now)
    if problem is not None:
        issues.value(f"{path}.birthDate", problem)
        return None
    return at


def _birth_time(child: Entry, born_on: date, issues: Issues) -> datetime | None:
    """The patient-birthTime extension, on birthDate (standard) or on the Patient itself."""
    patient = child.resource
    places = ((patient.birthDate__ext, "birthDate."), (patient, ""))
    for element, prefix in places:
        for i, extension in extensions(element, BIRTH_TIME_EXT):
            at = aware_datetime(extension.valueDateTime)
            if at is None:
                continue  # a date alone adds nothing to birthDate
            if at.date() != born_on:
                where = f"{child.path}.{prefix}extension[{i}].valueDateTime"
                issues.value(where, f"The birth time {at.isoformat()} is not on {born_on}")
                return None
            return at
    return None


def _first_checked(
    child: Entry, system: str, check: Check, issues: Issues, *, ascii_only: bool = True
) -> str | None:
    for position, value in identifiers(child.resource, system):
        where = f"{child.path}.identifier[{position}].value"
        return checked(check, value, where, issues, ascii_only=ascii_only)
    return None


def _multiple_birth(child: Entry, issues: Issues) -> int | None:
    order = child.resource.multipleBirthInteger
    if order is not None and not 1 <= order <= MAX_BIRTH_ORDER:
        text = f"The birth order is 1 to {MAX_BIRTH_ORDER} (multipleBirthInteger {order})"
        issues.value(f"{child.path}.multipleBirthInteger", text)
        return None
    return int(order) if order is not None else None


def _household_choice(child: Entry, issues: Issues) -> str | None:
    for i, extension in extensions(child.resource, HOUSEHOLD_CHOICE_EXT):
        choice = code_value(extension)
        if choice in HOUSEHOLD_CHOICES:
            return choice
        text = f"household-choice is {choice!r}: use mother or father"
        issues.value(f"{child.path}.extension[{i}].valueCode", text)
    return None


def find_mother(child: Entry, index: BundleIndex) -> Entry | None:
    """The Patient that is not the child; one with a citizen ID first."""
    others = [entry for entry in index.of_type("Patient") if entry.resource is not child.resource]
    with_id = [entry for entry in others if any(identifiers(entry.resource, CITIZEN_ID_SYSTEM))]
    candidates = with_id or others
    return candidates[0] if candidates else None


def find_father(index: BundleIndex) -> Entry | None:
    """The RelatedPerson whose relationship is v3-RoleCode FTH (or its NFTH)."""
    for entry in index.of_type("RelatedPerson"):
        relationships = entry.resource.relationship or []
        if any(has_coding(r, ROLE_CODE_SYSTEM, FATHER_CODES) for r in relationships):
            return entry
    return None


def read_parent(entry: Entry, role: str, issues: Issues, required: tuple[str, ...] = ()) -> Parent:
    """A parent with a checked citizen ID and the division codes of its addresses."""
    divisions = _divisions(entry, role, issues, required)
    return Parent(
        citizen_id=_citizen_id(entry, role, issues),
        name=_name(entry, f"{role}'s name", issues),
        phone=_phone(entry, issues),
        hukou_division=divisions.get("hukou"),
        residence_division=divisions.get("residence"),
    )


def read_mother(entry: Entry, issues: Issues) -> Parent:
    """The mother: both address kinds, and a citizen ID or phone (the family's verifier)."""
    mother = read_parent(entry, "mother", issues, required=ADDRESS_KINDS)
    if not any(identifiers(entry.resource, CITIZEN_ID_SYSTEM)) and mother.phone is None:
        text = "The mother has neither a citizen ID nor a phone: the family could not be verified"
        issues.required(f"{entry.path}.identifier", text)
    return mother


def _citizen_id(entry: Entry, role: str, issues: Issues) -> str | None:
    born_on = full_date(entry.resource.birthDate)

    def check(value: str) -> str:
        return citizen_id(value, born_on=born_on, field=f"{role}.citizen_id")

    for position, value in identifiers(entry.resource, CITIZEN_ID_SYSTEM):
        return checked(check, value, f"{entry.path}.identifier[{position}].value", issues)
    return None


def _divisions(
    entry: Entry, role: str, issues: Issues, required: tuple[str, ...]
) -> dict[str, str]:
    """Division code by address kind (hukou | residence); `required` kinds must be there."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    for a, address in enumerate(entry.resource.address or []):
        path = f"{entry.path}.address[{a}]"
        kind = _address_kind(address, path, issues)
        if kind is None or kind in seen:
            continue
        seen.add(kind)
        code = address_division(address, path, issues)
        if code is not None and not county_level(code):
            text = f"The {kind} division {code} is a province or prefecture: give the county"
            issues.value(_division_where(address, path), text)
        elif code is not None:
            found[kind] = code
    for kind in required:
        if kind not in seen:
            text = f"The {role} has no address with address-kind {kind} (and a division code)"
            issues.required(f"{entry.path}.address", text)
    return found


def _division_where(address: Resource, path: str) -> str:
    """Where address_division read the code from."""
    i, extension = next(extensions(address, DIVISION_CODE_EXT))
    return f"{path}.extension[{i}].{'valueCode' if extension.valueCode else 'valueString'}"


def _address_kind(address: Resource, path: str, issues: Issues) -> str | None:
    for i, extension in extensions(address, ADDRESS_KIND_EXT):
        kind = code_value(extension)
        if kind in ADDRESS_KINDS:
            return kind
        text = f"address-kind {kind!r}: use hukou or residence"
        issues.value(f"{path}.extension[{i}].valueCode", text)
    return None


def address_division(address: Resource, path: str, issues: Issues) -> str | None:
    """The checked GB/T 2260 code of an address; a missing one is a located issue."""
    for i, extension in extensions(address, DIVISION_CODE_EXT):
        element = "valueCode" if extension.valueCode is not None else "valueString"
        where = f"{path}.extension[{i}].{element}"
        return checked(division_code, code_value(extension), where, issues)
    issues.required(f"{path}.extension", "The address has no division-code extension")
    return None
