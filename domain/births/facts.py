"""Birth facts as the hospital reports them: plain, validated values, free of any FHIR type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from operator import attrgetter
from typing import Any

HOUSEHOLD_CHOICES = ("mother", "father")
SEXES = ("male", "female", "unknown")


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

    def disclosed(self, name: str) -> str | int | tuple[str, ...] | None:
        """One fact as an office sees it (`mother.name` dotted; the birth time in ISO form)."""
        if "." in name:
            who, key = name.split(".", 1)
            parent = self.parent(who)
            value: object = getattr(parent, key, None) if parent is not None else None
        elif name == "born_at":
            return self.born_at.isoformat()
        else:
            value = getattr(self, name, None) if name in _FACT_NAMES else None
        return value if isinstance(value, str | int | tuple) else None

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
