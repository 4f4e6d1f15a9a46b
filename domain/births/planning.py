"""What planning a birth case needs: the places and choices the saga's decider reads.

The kernel's decider (domain/kernel/saga.py) knows nothing of births; this module gives it
the births rules through its `Planning` interface: which facts routing reads (places and
the household choice, no names or numbers), that the household decides whose hukou county
handles registration, and that the birth certificate waits for the child's name.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta, timezone

from eventsourcing.persistence import Transcoding

from domain.births.facts import HOUSEHOLD_CHOICES, BirthFacts
from domain.births.family_application import FamilyApplication
from domain.kernel.case_plan import read_legacy_inputs_with
from domain.kernel.errors import InvalidApplicationError
from domain.kernel.identifiers import division_code
from domain.kernel.routing import Places
from domain.kernel.transcodings import AsDict

# The child's name is printed on the birth certificate and cannot change afterwards, so that
# request waits for the family's choice of name (architecture: "What planning needs").
NEEDS_CHILD_NAME = frozenset({"birth-certificate"})
ON_SITE = frozenset({"birth-place"})  # the birth certificate is received where the child was born
CST = timezone(timedelta(hours=8), "CST")


def apply_by(facts: BirthFacts) -> date:
    """The family's date to apply: a birth is declared within one month of it (Hukou
    Registration Regulation 1958 Art. 7; domain reference §0 fact 5), the same day of the
    next month (its last day when that month is shorter)."""
    born = facts.born_at.astimezone(CST).date()
    year, month = (born.year + 1, 1) if born.month == 12 else (born.year, born.month + 1)
    return date(year, month, min(born.day, monthrange(year, month)[1]))


@dataclass(frozen=True)
class RoutingInputs:
    """What planning needs: the places of the case and the family's household choice."""

    birth_division: str
    residence_division: str
    household: str
    hukou_division: str
    insured_division: str | None = None
    mother_insured_division: str | None = None

    def __post_init__(self) -> None:
        if self.household not in HOUSEHOLD_CHOICES:
            raise InvalidApplicationError(
                "The household must be 'mother' or 'father'", field="household"
            )
        for name in ("birth_division", "residence_division", "hukou_division"):
            division_code(getattr(self, name), field=name)
        for name in ("insured_division", "mother_insured_division"):
            if getattr(self, name) is not None:
                division_code(getattr(self, name), field=name)

    @property
    def insured_place(self) -> str:
        """The child's insured place; it defaults to the chosen parent's hukou county."""
        return self.insured_division or self.hukou_division

    def places(self) -> Places:
        """The places routing reads, by the births catalog's handling rules: a service
        handled at the birth place is received there (the family is there at birth)."""
        return Places(
            home=self.residence_division,
            at=(
                ("birth-place", self.birth_division),
                ("residence", self.residence_division),
                ("household-hukou", self.hukou_division),
                ("insured-place", self.insured_place),
                ("mother-insured-place", self.mother_insured_division),
            ),
            on_site=ON_SITE,
        )


@dataclass(frozen=True)
class NotifiedPlaces:
    """What the hospital's birth record tells planning."""

    birth_division: str | None
    household: str | None
    mother_hukou: str | None
    father_hukou: str | None
    residence: str | None
    child_named: bool

    def hukou_of(self, household: str) -> str | None:
        return {"mother": self.mother_hukou, "father": self.father_hukou}.get(household)


@dataclass(frozen=True)
class FamilyChoices:
    """What the family's application tells planning."""

    household: str | None
    residence: str | None
    insured: str | None
    child_named: bool
    mother_insured: str | None = None  # the mother's insured county, when she is insured


BirthPart = NotifiedPlaces | FamilyChoices
_NO_CHOICES = FamilyChoices(None, None, None, child_named=False)


@dataclass(frozen=True)
class BirthPlanInputs:
    """A birth case's planning inputs: the hospital's record, then the family's choices."""

    facts: NotifiedPlaces
    application: FamilyChoices | None = None

    @property
    def child_named(self) -> bool:
        return self.facts.child_named or bool(self.application and self.application.child_named)

    def to_dict(self) -> dict[str, dict[str, str | bool | None] | None]:
        """As the CasePlan stored them before they were typed (and as they are encoded)."""
        application = self.application
        return {
            "facts": vars(self.facts).copy(),
            "application": _choices(application) if application is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> BirthPlanInputs:
        facts, application = data["facts"], data.get("application")
        assert isinstance(facts, Mapping)
        return cls(
            NotifiedPlaces(**facts),
            FamilyChoices(**application) if isinstance(application, Mapping) else None,
        )


def _choices(application: FamilyChoices) -> dict[str, str | bool | None]:
    """The choices as stored; the mother's insured place only when given (so what was
    stored before it existed is written the same)."""
    values = vars(application).copy()
    if values["mother_insured"] is None:
        del values["mother_insured"]
    return values


def notified_places(facts: BirthFacts) -> NotifiedPlaces:
    """The few facts routing needs, from a birth record's facts: no names or numbers."""
    father = facts.father
    return NotifiedPlaces(
        birth_division=facts.birth_division,
        household=facts.household_choice,
        mother_hukou=facts.mother.hukou_division,
        father_hukou=father.hukou_division if father is not None else None,
        residence=facts.mother.residence_division,
        child_named=bool(facts.child_name),
    )


def family_choices(application: FamilyApplication) -> FamilyChoices:
    """The family's choices routing needs, from its recorded application."""
    return FamilyChoices(
        household=application.household,
        residence=application.residence_division,
        insured=application.insured_division,
        child_named=bool(application.child_name),
        mother_insured=application.mother_insured_place,
    )


class BirthPlanning:
    """The births wing's planning rules, as the saga's decider asks for them."""

    def merged(self, inputs: BirthPlanInputs | None, part: BirthPart) -> BirthPlanInputs:
        if isinstance(part, FamilyChoices):
            if inputs is None:
                raise ValueError("A family applies for a case the hospital notified first")
            return replace(inputs, application=part)
        return BirthPlanInputs(part) if inputs is None else replace(inputs, facts=part)

    def routing(self, inputs: BirthPlanInputs) -> Places | None:
        """The places once household, hukou and residence are known; else None (wait)."""
        facts, application = inputs.facts, inputs.application
        chosen = application or _NO_CHOICES
        household = chosen.household or facts.household
        residence = chosen.residence or facts.residence
        hukou = facts.hukou_of(household) if household else None
        if not (household and residence and hukou and facts.birth_division):
            return None
        return RoutingInputs(
            birth_division=facts.birth_division,
            residence_division=residence,
            household=household,
            hukou_division=hukou,
            insured_division=chosen.insured,
            mother_insured_division=chosen.mother_insured,
        ).places()

    def may_dispatch(self, inputs: BirthPlanInputs, service: str) -> bool:
        return service not in NEEDS_CHILD_NAME or inputs.child_named


read_legacy_inputs_with(BirthPlanInputs.from_dict)  # every CasePlan stored so far is a birth's


# A birth case's planning inputs in CasePlan events: the dict version 1 stored.
PLANNING_TRANSCODINGS: tuple[Transcoding, ...] = (AsDict(BirthPlanInputs, "birth_plan_inputs"),)
