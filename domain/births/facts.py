"""Birth facts as the hospital reports them: plain, validated values, free of any FHIR type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from functools import cache
from operator import attrgetter
from typing import Any

HOUSEHOLD_CHOICES = ("mother", "father")
SEXES = ("male", "female", "unknown")
FactValue = str | int | tuple[str, ...] | None  # a fact as an office is shown it


@dataclass(frozen=True)
class Parent:
    """A parent as the birth record names them; every field may be missing at birth."""

    citizen_id: str | None = None
    name: str | None = None
    phone: str | None = None
    hukou_division: str | None = None
    residence_division: str | None = None


@dataclass(frozen=True)
class BirthFacts:
    """What one hospital birth notification says about one child."""

    facility_uscc: str
    record_ref: str
    born_at: datetime
    sex: str
    birth_division: str
    mother: Parent
    father: Parent | None = None
    child_name: str | None = None
    certificate_number: str | None = None
    delivery_ref: str | None = None
    multiple_birth: int | None = None
    household_choice: str | None = None
    birth_weight_g: int | None = None
    gestation_weeks: int | None = None
    apgar_1: int | None = None
    apgar_5: int | None = None
    birth_doses: tuple[str, ...] = field(default_factory=tuple)

    @property
    def born_on(self) -> date:
        return self.born_at.date()

    def parent(self, who: str) -> Parent | None:
        """The mother or the father (`who` is a household choice); None for anyone else."""
        if who == "mother":
            return self.mother
        return self.father if who == "father" else None

    def to_dict(self) -> dict[str, Any]:
        """A dict of str/int/None/list values for storage in an event: what
        `dataclasses.asdict` gives (fields in order, the parents as dicts), built directly."""
        data = dict(zip(_FACT_FIELDS, _facts_of(self), strict=True))
        data["born_at"] = self.born_at.isoformat()
        data["mother"] = _parent_dict(self.mother)
        data["father"] = _parent_dict(self.father)
        data["birth_doses"] = list(self.birth_doses)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BirthFacts:
        values: dict[str, Any] = {name: data.get(name) for name in _FACT_FIELDS}
        values["born_at"] = datetime.fromisoformat(data["born_at"])
        values["mother"] = Parent(**data["mother"])
        values["father"] = Parent(**data["father"]) if data.get("father") else None
        values["birth_doses"] = tuple(data.get("birth_doses") or ())
        return cls(**values)


_PARENT_FIELDS = tuple(f.name for f in fields(Parent))
_FACT_FIELDS = tuple(f.name for f in fields(BirthFacts))
_parent_of = attrgetter(*_PARENT_FIELDS)
_facts_of = attrgetter(*_FACT_FIELDS)
_FACT_NAMES = frozenset(_FACT_FIELDS) - {"mother", "father"}


@cache
def fact_reader(name: str) -> Callable[[BirthFacts], FactValue]:
    """How one field an office may see is read from the facts, made once per name (offices
    are shown a case field by field, on every dispatch): None for a name that is no fact."""
    if name == "born_at":
        return _born_at_iso
    who, _, key = name.rpartition(".")
    if who in ("mother", "father") and key in _PARENT_FIELDS:
        of_parent = attrgetter(key)
        if who == "mother":
            return lambda facts: of_parent(facts.mother)
        return lambda facts: of_parent(facts.father) if facts.father is not None else None
    return attrgetter(name) if not who and name in _FACT_NAMES else _no_fact


def _born_at_iso(facts: BirthFacts) -> FactValue:
    return facts.born_at.isoformat()


def _no_fact(facts: BirthFacts) -> FactValue:
    return None


def _parent_dict(parent: Parent | None) -> dict[str, Any] | None:
    if parent is None:
        return None
    return dict(zip(_PARENT_FIELDS, _parent_of(parent), strict=True))


def changed_facts(old: BirthFacts, new: BirthFacts) -> list[str]:
    """Dotted names of the facts a correction changes (nested parents too)."""
    return changed_fields(old.to_dict(), new.to_dict())


def changed_fields(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the fields that differ between two fact dicts (nested parents too)."""
    changed: list[str] = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            changed += changed_fields(before, after, f"{prefix}{key}.")
        elif before != after:
            changed.append(prefix + key)
    return changed
