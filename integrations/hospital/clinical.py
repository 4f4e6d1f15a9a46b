"""The birth itself: place of birth, measurements (Observation) and birth doses (Immunization)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from integrations.hospital.bundle_index import BundleIndex, Entry, Resource
from integrations.hospital.elements import extensions, full_date, has_coding
from integrations.hospital.identifiers import (
    CVX_SYSTEM,
    DIVISION_CODE_EXT,
    DOSE_BY_CVX,
    LOINC_APGAR_1,
    LOINC_APGAR_5,
    LOINC_BIRTH_WEIGHT,
    LOINC_GESTATIONAL_AGE,
    LOINC_SYSTEM,
)
from integrations.hospital.issues import Issues
from integrations.hospital.people import address_division

Reader = Callable[[Entry, Issues], int | None]
GRAMS_PER_UNIT = {"g": Decimal(1), "kg": Decimal(1000)}
WEEKS_PER_UNIT = {"wk": Decimal(1), "week": Decimal(1), "weeks": Decimal(1), "d": 1 / Decimal(7)}
NO_LONGER_TRUE = ("entered-in-error", "cancelled")


def birth_division(
    child: Entry, facility: Entry | None, index: BundleIndex, issues: Issues
) -> str | None:
    """GB/T 2260 code of the place of birth: the Encounter's Location, else the facility."""
    encounter = _birth_encounter(child, index)
    places = _places(encounter, facility, index)
    for address, path in places:
        if any(extensions(address, DIVISION_CODE_EXT)):
            return address_division(address, path, issues)
    if places:
        where = f"{places[0][1]}.extension"
    elif encounter is not None:
        where = f"{encounter.path}.location"
    else:
        where = f"{facility.path}.address" if facility else "Bundle.entry"
    text = "The place of birth has no division code (Encounter.location → Location.address)"
    issues.required(where, text)
    return None


def _birth_encounter(child: Entry, index: BundleIndex) -> Entry | None:
    encounters = index.of_type("Encounter")
    mine = [e for e in encounters if _is(index.resolve(e.resource.subject), child)]
    candidates = mine or encounters
    return candidates[0] if candidates else None


def _is(found: Entry | None, entry: Entry) -> bool:
    return found is not None and found.resource is entry.resource


def _places(
    encounter: Entry | None, facility: Entry | None, index: BundleIndex
) -> list[tuple[Resource, str]]:
    """(Address, its FHIRPath): Encounter locations first, then the facility's addresses."""
    places: list[tuple[Resource, str]] = []
    stays = (encounter.resource.location or []) if encounter else []
    for stay in stays:
        location = index.resolve(stay.location)
        if location is not None and location.type == "Location" and location.resource.address:
            places.append((location.resource.address, f"{location.path}.address"))
    if facility is not None:
        places += _facility_addresses(facility)
    return places


def _facility_addresses(facility: Entry) -> list[tuple[Resource, str]]:
    """Organization.address (R4), or contact[].address where R5 moved it."""
    org, path = facility.resource, facility.path
    found = [(a, f"{path}.address[{i}]") for i, a in enumerate(getattr(org, "address", None) or [])]
    contacts = enumerate(org.contact or [])
    return found + [(c.address, f"{path}.contact[{i}].address") for i, c in contacts if c.address]


def measurements(index: BundleIndex, issues: Issues) -> dict[str, int]:
    """Birth weight, gestation and Apgar scores by BirthFacts field name (first of each);
    every other current Observation is a warning: a fact not taken."""
    found: dict[str, int] = {}
    seen: set[str] = set()
    for entry in index.of_type("Observation"):
        if entry.resource.status in NO_LONGER_TRUE:
            continue
        name, reader = next(
            (r for c, r in READERS.items() if c in _loinc_codes(entry.resource.code)),
            (None, None),
        )
        if name is None or reader is None or name in seen:
            why = "a second one: only the first is taken" if name else "not mapped by this profile"
            issues.warn(f"{entry.path}.code", f"Observation {concept(entry.resource.code)}: {why}")
            continue
        seen.add(name)
        value = reader(entry, issues)
        if value is not None:
            found[name] = value
    return found


def _loinc_codes(concept: Resource) -> set[str]:
    return {c.code for c in getattr(concept, "coding", None) or [] if c.system == LOINC_SYSTEM}


def concept(value: Resource) -> str:
    """A CodeableConcept for people: its first coding as system|code (display), or text."""
    codings = getattr(value, "coding", None) or []
    if codings:
        first = codings[0]
        display = f" ({first.display})" if first.display else ""
        return f"{first.system}|{first.code}{display}"[:200]
    return str(getattr(value, "text", None) or "without a code")[:200]


def _birth_weight(entry: Entry, issues: Issues) -> int | None:
    grams = _quantity(entry, GRAMS_PER_UNIT, "g", issues)
    if grams is None:
        return None
    if not 300 <= grams <= 7000:
        text = f"A birth weight of {grams} g is impossible (300-7000 g)"
        issues.value(f"{entry.path}.valueQuantity.value", text)
        return None
    return int(grams.to_integral_value())


def _gestation(entry: Entry, issues: Issues) -> int | None:
    weeks = _quantity(entry, WEEKS_PER_UNIT, "wk", issues)
    if weeks is None:
        return None
    if not 20 <= weeks <= 45:
        text = f"A gestation of {weeks:.1f} weeks is impossible (20-45 weeks)"
        issues.value(f"{entry.path}.valueQuantity.value", text)
        return None
    return int(weeks)  # completed weeks


def _quantity(
    entry: Entry, factors: dict[str, Decimal], default: str, issues: Issues
) -> Decimal | None:
    quantity = entry.resource.valueQuantity
    if quantity is None or quantity.value is None:
        return None
    unit = str(quantity.code or quantity.unit or default).strip()
    if unit not in factors:
        where = f"{entry.path}.valueQuantity.{'code' if quantity.code else 'unit'}"
        issues.value(where, f"Unit {unit!r} is not one of {', '.join(factors)} (UCUM)")
        return None
    return Decimal(quantity.value) * factors[unit]


def _apgar(entry: Entry, issues: Issues) -> int | None:
    obs = entry.resource
    quantity = obs.valueQuantity.value if obs.valueQuantity is not None else None
    value = obs.valueInteger if obs.valueInteger is not None else quantity
    if value is None:
        return None
    element = "valueInteger" if obs.valueInteger is not None else "valueQuantity.value"
    if not (0 <= value <= 10 and value == int(value)):
        issues.value(f"{entry.path}.{element}", f"An Apgar score of {value} is impossible (0-10)")
        return None
    return int(value)


READERS: dict[str, tuple[str, Reader]] = {
    LOINC_BIRTH_WEIGHT: ("birth_weight_g", _birth_weight),
    LOINC_GESTATIONAL_AGE: ("gestation_weeks", _gestation),
    LOINC_APGAR_1: ("apgar_1", _apgar),
    LOINC_APGAR_5: ("apgar_5", _apgar),
}


def birth_doses(index: BundleIndex, born_on: date | None, issues: Issues) -> tuple[str, ...]:
    """Birth doses given (HepB dose 1, BCG), from completed Immunizations with CVX codes;
    any other completed Immunization is a warning: a fact not taken."""
    given: set[str] = set()
    for entry in index.of_type("Immunization"):
        if entry.resource.status != "completed":
            continue
        vaccine = entry.resource.vaccineCode
        doses = [d for cvx, d in DOSE_BY_CVX.items() if has_coding(vaccine, CVX_SYSTEM, cvx)]
        if not doses:
            text = f"Immunization {concept(vaccine)}: not a birth dose of this profile (CVX 08, 19)"
            issues.warn(f"{entry.path}.vaccineCode", text)
        elif _given_before_birth(entry, born_on, issues):
            continue
        given.update(doses)
    return tuple(dose for dose in DOSE_BY_CVX.values() if dose in given)


def _given_before_birth(entry: Entry, born_on: date | None, issues: Issues) -> bool:
    given_on = full_date(entry.resource.occurrenceDateTime)
    if born_on is None or given_on is None or given_on >= born_on:
        return False
    text = f"A birth dose given on {given_on}, before the birth ({born_on}), is impossible"
    issues.value(f"{entry.path}.occurrenceDateTime", text)
    return True
