"""Readers for FHIR datatypes (coding, extension, identifier, name, telecom), R4B or R5 alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone
from typing import Any

from domain.kernel.errors import InvalidIdentifierError
from integrations.hospital.bundle_index import Resource
from integrations.hospital.issues import Issues

Element = Any  # a fhir.resources datatype instance (R4B or R5)


def has_coding(concept: Element, system: str, codes: tuple[str, ...] | str) -> bool:
    """Whether a CodeableConcept carries system|code for one of `codes`."""
    codings = getattr(concept, "coding", None) or []
    wanted = (codes,) if isinstance(codes, str) else codes
    return any(c.system == system and c.code in wanted for c in codings)


def extensions(element: Element, url: str) -> Iterator[tuple[int, Element]]:
    """(position, Extension) for each extension of `element` with this url."""
    for i, extension in enumerate(getattr(element, "extension", None) or []):
        if extension.url == url:
            yield i, extension


def code_value(extension: Element) -> str | None:
    """The extension's code (valueCode, or valueString as sent by lenient systems)."""
    value = extension.valueCode or extension.valueString
    return str(value).strip() if value is not None else None


def identifiers(resource: Resource, system: str) -> Iterator[tuple[int, str | None]]:
    """(position, value) for each identifier of the resource in `system`."""
    for i, identifier in enumerate(getattr(resource, "identifier", None) or []):
        if identifier.system == system:
            yield i, identifier.value


def typed_identifiers(resource: Resource, system: str, code: str) -> Iterator[tuple[int, Any]]:
    """(position, value) for each identifier whose type has system|code (e.g. v2-0203|MR)."""
    for i, identifier in enumerate(getattr(resource, "identifier", None) or []):
        if has_coding(identifier.type, system, code):
            yield i, identifier.value


def person_name(resource: Resource) -> str | None:
    """The official (else first) name: its text, else family + given (no space in Chinese)."""
    return located_name(resource)[0]


def located_name(resource: Resource) -> tuple[str | None, str]:
    """person_name and the element it was read from ('name[1]')."""
    names = getattr(resource, "name", None) or []
    index = next((i for i, n in enumerate(names) if n.use == "official"), 0)
    chosen = names[index] if names else None
    where = f"name[{index}]"
    if chosen is None:
        return None, where
    if chosen.text and chosen.text.strip():
        return str(chosen.text).strip(), f"{where}.text"
    given = [str(g) for g in chosen.given or []]
    family = str(chosen.family) if chosen.family else ""
    if family and not family.isascii():
        return (family + "".join(given)) or None, where
    return " ".join([*given, family]).strip() or None, where


def phone(resource: Resource) -> str | None:
    """The first phone number of the resource's telecom."""
    return located_phone(resource)[0]


def located_phone(resource: Resource) -> tuple[str | None, str]:
    """phone and the element it was read from ('telecom[0].value')."""
    for i, telecom in enumerate(getattr(resource, "telecom", None) or []):
        value = telecom.value
        if telecom.system == "phone" and value and str(value).strip():
            return str(value).strip(), f"telecom[{i}].value"
    return None, "telecom"


def full_date(value: object) -> date | None:
    """A FHIR date as a calendar date; None for a partial date ('2026', '2026-11')."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def aware_datetime(value: object) -> datetime | None:
    """A FHIR dateTime with a time and an offset, as a plain datetime; else None."""
    if not isinstance(value, datetime):
        return None
    offset = value.utcoffset()
    # Swap pydantic's TzInfo for the stdlib timezone: no library type leaves the adapter.
    return None if offset is None else value.replace(tzinfo=timezone(offset))


def checked(
    check: Callable[[str], str],
    value: object,
    expression: str,
    issues: Issues,
    *,
    ascii_only: bool = True,
) -> str | None:
    """Run a domain identifier check; an invalid value becomes a located issue. Codes and
    numbers are ASCII: other scripts' digits ('٤٣٠٦٠٢') would pass a `\\d` pattern."""
    if value is None or not str(value).strip():
        issues.required(expression, "The identifier has no value")
        return None
    if ascii_only and not str(value).isascii():
        issues.value(expression, "The identifier holds characters other than ASCII")
        return None
    try:
        return check(str(value))
    except InvalidIdentifierError as exc:
        issues.value(expression, exc.detail)
        return None
