"""flows: births per month from each birth province to the hukou province the child joins."""

from __future__ import annotations

from abc import ABC
from dataclasses import asdict, dataclass
from functools import singledispatchmethod
from typing import Any

from domain.births.birth_case import BirthCase
from domain.births.facts import BirthFacts
from engine.memory import InMemoryTables
from engine.rows import Rows, Table, changed, require
from engine.view import TableProjection, TableView
from projections.events import month_of, province, stamp, topics_of


@dataclass(frozen=True)
class FlowCaseRow:
    """What decides one case's flow (provinces only), and the flow it is counted in."""

    case_id: str
    month: str  # of the birth notification, China time
    birth_province: str | None
    mother_hukou_province: str | None
    father_hukou_province: str | None
    household: str | None  # the hospital's record of the choice, or the family's once applied
    applied: bool
    voided: bool
    counted_birth: str | None  # the flow the case is counted in now (None: not counted)
    counted_hukou: str | None

    def flow(self) -> tuple[str, str] | None:
        """(birth province, hukou province) once both are known; None for a voided case."""
        hukou = {"mother": self.mother_hukou_province, "father": self.father_hukou_province}
        destination = hukou.get(self.household or "")
        if self.voided or not self.birth_province or not destination:
            return None
        return self.birth_province, destination


@dataclass(frozen=True)
class FlowRow:
    """How many cases of a month flow from one birth province to one hukou province."""

    month: str
    birth_province: str
    hukou_province: str
    cases: int

    @property
    def cross_province(self) -> bool:
        return self.birth_province != self.hukou_province

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cross_province": self.cross_province}


FLOW_CASES = Table("cases", FlowCaseRow, ("case_id",))
FLOWS = Table("counts", FlowRow, ("month", "birth_province", "hukou_province"))


class FlowsView(TableView, ABC):
    """Birth province → hukou province counts per month (no personal data)."""

    name = "flows"
    tables = (FLOWS, FLOW_CASES)

    def flows(self, month: str, province: str | None = None) -> list[FlowRow]:
        """The month's flows; with `province`, those that start or end there."""
        found = self.select(FLOWS, {"month": month}, order_by=("birth_province", "hukou_province"))
        return [f for f in found if province in (None, f.birth_province, f.hukou_province)]


class InMemoryFlows(InMemoryTables, FlowsView):
    """flows in memory, for unit tests."""


def _provinces(facts: BirthFacts) -> dict[str, Any]:
    father = facts.father
    return {
        "birth_province": province(facts.birth_division),
        "mother_hukou_province": province(facts.mother.hukou_division),
        "father_hukou_province": province(father.hukou_division if father else None),
    }


def _add(rows: Rows, month: str, flow: tuple[str, str], cases: int) -> None:
    row = rows.get(FLOWS, month, *flow) or FlowRow(month, *flow, cases=0)
    if row.cases + cases:
        rows.put(FLOWS, changed(row, cases=row.cases + cases))
    else:
        rows.delete(FLOWS, month, *flow)


def _save(rows: Rows, case: FlowCaseRow) -> None:
    """Store the case and move its count when its flow changed."""
    old = (case.counted_birth, case.counted_hukou)
    new = case.flow()
    if old[0] is not None and old[1] is not None and old != new:
        _add(rows, case.month, (old[0], old[1]), -1)
    if new is not None and old != new:
        _add(rows, case.month, new, 1)
    birth, hukou = new or (None, None)
    rows.put(FLOW_CASES, changed(case, counted_birth=birth, counted_hukou=hukou))


class FlowsProjection(TableProjection[FlowsView]):
    """Counts each case once, in the month of its birth notification, under the flow its
    latest facts and choices give; a correction or a new choice moves the count, a void
    removes it."""

    name = "flows"
    topics = topics_of(
        BirthCase.Notified,
        BirthCase.NotificationCorrected,
        BirthCase.FamilyApplied,
        BirthCase.Voided,
        BirthCase.VoidRequested,
        BirthCase.FamilyCorrected,
    )

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Other events do not move a flow."""

    @apply.register
    def _(self, event: BirthCase.Notified, position: int, rows: Rows) -> None:
        case = FlowCaseRow(
            case_id=str(event.originator_id),
            month=month_of(stamp(event)),
            household=event.facts.household_choice,
            applied=False,
            voided=False,
            counted_birth=None,
            counted_hukou=None,
            **_provinces(event.facts),
        )
        _save(rows, case)

    @apply.register
    def _(self, event: BirthCase.NotificationCorrected, position: int, rows: Rows) -> None:
        case = self._case(rows, event)
        household = case.household if case.applied else event.facts.household_choice
        _save(rows, changed(case, household=household, **_provinces(event.facts)))

    @apply.register
    def _(self, event: BirthCase.FamilyApplied, position: int, rows: Rows) -> None:
        household = event.application.household
        _save(rows, changed(self._case(rows, event), household=household, applied=True))

    @apply.register
    def _(self, event: BirthCase.FamilyCorrected, position: int, rows: Rows) -> None:
        household = event.application.household
        _save(rows, changed(self._case(rows, event), household=household, applied=True))

    @apply.register
    def _(self, event: BirthCase.Voided, position: int, rows: Rows) -> None:
        _save(rows, changed(self._case(rows, event), voided=True))

    @apply.register
    def _(self, event: BirthCase.VoidRequested, position: int, rows: Rows) -> None:
        _save(rows, changed(self._case(rows, event), voided=True))  # voiding: counted out

    @staticmethod
    def _case(rows: Rows, event: Any) -> FlowCaseRow:
        case_id = str(event.originator_id)
        return require(rows.get(FLOW_CASES, case_id), "case", case_id)
