"""Hospital FHIR birth-notification messages → NotifyBirth, CorrectNotification, VoidNotification.

A pure function over bytes: `parse_message(raw)` returns a `ParsedMessage` with a domain command,
or raises `IntakeRejectedError` (400: not FHIR / not a message; 422: breaks our profile) listing
every problem found, each located by FHIRPath. No FHIR type leaves this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.births.commands import CorrectNotification, NotifyBirth, VoidNotification
from domain.births.facts import BirthFacts, Parent
from domain.kernel.identifiers import uscc_code
from integrations.hospital.bundle_index import BundleIndex, Entry
from integrations.hospital.clinical import birth_division, birth_doses, measurements
from integrations.hospital.elements import checked, extensions, identifiers
from integrations.hospital.identifiers import HOUSEHOLD_CHOICE_EXT, USCC_SYSTEM
from integrations.hospital.issues import IntakeRejectedError, Issue, Issues
from integrations.hospital.limits import MAX_ENDPOINT, clean_text
from integrations.hospital.people import (
    Child,
    find_father,
    find_mother,
    read_child,
    read_mother,
    read_parent,
    record_key,
    record_key_path,
)
from integrations.hospital.plausibility import duplicates, extra_patients, mother_age
from integrations.hospital.structure import HEADER, read_message, valid_id

__all__ = ["IntakeRejectedError", "Issue", "ParsedMessage", "parse_message"]

Command = NotifyBirth | CorrectNotification | VoidNotification


@dataclass(frozen=True)
class ParsedMessage:
    """An accepted hospital message: what it is, its keys, and the command it asks for."""

    kind: str  # "notify" | "update" | "void"
    message_id: str
    facility_uscc: str
    record_ref: str
    command: Command
    source_endpoint: str | None = None  # the request's MessageHeader.source: where replies go
    fhir_version: str = "R4"  # "R4" | "R5": the acknowledgement is written in it
    warnings: tuple[Issue, ...] = ()  # facts given but not taken: the acknowledgement lists them
    # Where the facility's USCC and the child's record key sit (FHIRPath), to locate a 403/409.
    facility_expression: str = field(default="Bundle.entry", compare=False)
    record_expression: str = field(default="Bundle.entry[0].resource.focus", compare=False)


def parse_message(
    raw: bytes, now: datetime | None = None, media_version: str | None = None
) -> ParsedMessage:
    """Map one birth-notification message; raise IntakeRejectedError for any problem.

    `now` (default: the system clock) bounds the birth date: not in the future, not older
    than a newborn registration allows (limits.py). `media_version` is the Content-Type's
    fhirVersion parameter, if any.
    """
    kind, bundle, version = read_message(raw, media_version)
    index = BundleIndex(bundle)
    header, issues = index.entries[0], Issues()
    message_id = _message_id(header, issues)
    if kind is None:
        issues.required(f"{HEADER}.event", "The MessageHeader has no event")
    duplicates(index, issues)
    facility = _facility(header, index, issues)
    uscc = _facility_uscc(facility, issues) if facility else None
    child = _child(header, index, issues)
    record_ref = record_key(child, issues) if child else None
    at = now or datetime.now(UTC)
    facts = _facts(child, facility, index, issues, at) if child and kind != "void" else None
    source = _source_endpoint(header, issues)
    incomplete = facts is None and kind != "void"
    if issues.items or incomplete or not (kind and message_id and uscc and record_ref):
        raise IntakeRejectedError(422, issues.items, message_id)
    command = _command(kind, message_id, uscc, record_ref, facts, raw)
    return ParsedMessage(
        kind,
        message_id,
        uscc,
        record_ref,
        command,
        source,
        version,
        tuple(issues.notes),
        facility_expression=_uscc_path(facility),
        record_expression=record_key_path(child),
    )


def _command(
    kind: str, message_id: str, uscc: str, record_ref: str, facts: _Facts | None, raw: bytes
) -> Command:
    if kind == "void":
        return VoidNotification(message_id, uscc, record_ref, raw_message=raw)
    assert facts is not None  # parse_message rejects a notification without facts
    full = facts.complete(uscc, record_ref)
    if kind == "update":
        return CorrectNotification(message_id, full, raw_message=raw)
    return NotifyBirth(message_id, full, raw_message=raw)


def _source_endpoint(header: Entry, issues: Issues) -> str | None:
    source = header.resource.source  # R4 source.endpoint, R5 source.endpointUrl
    element = "endpoint" if getattr(source, "endpoint", None) else "endpointUrl"
    endpoint = getattr(source, element, None)
    if not isinstance(endpoint, str):
        return None
    where = f"{HEADER}.source.{element}"
    return endpoint if clean_text(endpoint, where, issues, MAX_ENDPOINT, "endpoint") else None


def _message_id(header: Entry, issues: Issues) -> str | None:
    message_id = header.resource.id
    if not message_id:
        text = "MessageHeader.id is missing: it is the message id (the idempotency key)"
        issues.required(f"{HEADER}.id", text)
        return None
    if valid_id(message_id) is None:
        issues.value(f"{HEADER}.id", "A FHIR id has 1-64 letters, digits, '-' or '.'")
        return None
    return str(message_id)


def _facility(header: Entry, index: BundleIndex, issues: Issues) -> Entry | None:
    """The sending hospital: MessageHeader.sender, else the Organization carrying a USCC."""
    reference = header.resource.sender
    sender = index.resolve(reference)
    if sender is not None and sender.type == "Organization":
        return sender
    if reference is not None:
        where = f"{HEADER}.sender"
        text = f"sender {reference.reference!r} is not an Organization entry of this Bundle"
        issues.add("not-found" if sender is None else "value", where, text)
        return None
    organizations = index.of_type("Organization")
    with_uscc = [org for org in organizations if any(identifiers(org.resource, USCC_SYSTEM))]
    if with_uscc:
        return with_uscc[0]
    text = "No facility: MessageHeader.sender must reference the hospital Organization"
    issues.required(f"{HEADER}.sender", text)
    return None


def _uscc_path(facility: Entry | None) -> str:
    """The FHIRPath of the facility's USCC identifier value."""
    assert facility is not None  # parse_message accepts no message without one
    position = next(i for i, _ in identifiers(facility.resource, USCC_SYSTEM))
    return f"{facility.path}.identifier[{position}].value"


def _facility_uscc(facility: Entry, issues: Issues) -> str | None:
    for position, value in identifiers(facility.resource, USCC_SYSTEM):
        where = f"{facility.path}.identifier[{position}].value"
        return checked(uscc_code, value, where, issues)
    text = f"The facility has no unified social credit code (identifier system {USCC_SYSTEM})"
    issues.required(f"{facility.path}.identifier", text)
    return None


def _child(header: Entry, index: BundleIndex, issues: Issues) -> Entry | None:
    """The focus: the child Patient, or the subject of a focused document Bundle (BFDR)."""
    focus = header.resource.focus or []
    if not focus:
        text = "MessageHeader.focus is missing: it must reference the child Patient"
        issues.required(f"{HEADER}.focus", text)
        return None
    target = index.resolve(focus[0])
    if target is None:
        text = f"focus {focus[0].reference!r} does not resolve to an entry of this Bundle"
        issues.add("not-found", f"{HEADER}.focus[0]", text)
        return None
    if target.type == "Bundle":
        return _document_subject(target, index, issues)
    if target.type != "Patient":
        issues.value(
            f"{HEADER}.focus[0]", f"focus is a {target.type}: it must be the child Patient"
        )
        return None
    return target


def _document_subject(document: Entry, index: BundleIndex, issues: Issues) -> Entry | None:
    entries = document.resource.entry or []
    composition = entries[0].resource if entries else None
    where = f"{document.path}.entry[0].resource"
    if composition is None or composition.get_resource_type() != "Composition":
        issues.required(where, "The focused document Bundle does not start with a Composition")
        return None
    subject = composition.subject  # a Reference in R4, a list of them in R5
    subject = (subject or [None])[0] if isinstance(subject, list) else subject
    found = index.resolve(subject)
    if found is None or found.type != "Patient":
        issues.required(f"{where}.subject", "The Composition.subject must be the child Patient")
        return None
    return found


@dataclass(frozen=True)
class _Facts:
    """Everything but the keys, which the header and facility give."""

    child: Child
    mother: Parent
    father: Parent | None
    birth_division: str
    measured: dict[str, int]
    doses: tuple[str, ...]

    def complete(self, uscc: str, record_ref: str) -> BirthFacts:
        child, measured = self.child, self.measured
        return BirthFacts(
            facility_uscc=uscc,
            record_ref=record_ref,
            born_at=child.born_at,
            sex=child.sex,
            birth_division=self.birth_division,
            mother=self.mother,
            father=self.father,
            child_name=child.name,
            certificate_number=child.certificate_number,
            delivery_ref=child.delivery_ref,
            multiple_birth=child.multiple_birth,
            household_choice=child.household_choice,
            birth_weight_g=measured.get("birth_weight_g"),
            gestation_weeks=measured.get("gestation_weeks"),
            apgar_1=measured.get("apgar_1"),
            apgar_5=measured.get("apgar_5"),
            birth_doses=self.doses,
        )


def _facts(
    child: Entry, facility: Entry | None, index: BundleIndex, issues: Issues, now: datetime
) -> _Facts | None:
    values = read_child(child, issues, now)
    mother_entry = find_mother(child, index)
    if mother_entry is None:
        issues.required("Bundle.entry", "No mother: a Patient other than the child is needed")
    else:
        extra_patients(child, mother_entry, index, issues)
    mother = read_mother(mother_entry, issues) if mother_entry else None
    if mother_entry and mother and values:
        mother_age(mother_entry, mother, values.born_at.date(), issues)
    father = _father(child, values, index, issues)
    place = birth_division(child, facility, index, issues)
    measured = measurements(index, issues)
    doses = birth_doses(index, values.born_at.date() if values else None, issues)
    if values is None or mother is None or place is None:
        return None
    return _Facts(values, mother, father, place, measured, doses)


def _father(
    child: Entry, values: Child | None, index: BundleIndex, issues: Issues
) -> Parent | None:
    """The father, whose hukou address is required when the child joins his household."""
    joins_father = values is not None and values.household_choice == "father"
    entry = find_father(index)
    if entry is None:
        if joins_father:
            where = next(
                f"{child.path}.extension[{i}]"
                for i, _ in extensions(child.resource, HOUSEHOLD_CHOICE_EXT)
            )
            issues.required(
                where, "household-choice is father, but there is no father RelatedPerson"
            )
        return None
    return read_parent(entry, "father", issues, required=("hukou",) if joins_father else ())
