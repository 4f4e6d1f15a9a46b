"""case_status: the family's view of one case: state, services, history and what to do next."""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from domain.birth_case import BirthCase
from domain.service_request import ServiceRequest
from projections.case_document import DOCUMENTS, Sealer, finish_documents, update_document
from projections.case_status_model import (
    CASES,
    HISTORY,
    SERVICES,
    CaseRow,
    CaseStatus,
    HistoryRow,
    ServiceRow,
    assemble,
    case_of,
    history_row,
    put_case,
    put_service,
)
from projections.events import route_fields, stamp, topics_of
from projections.memory import InMemoryTables
from projections.rows import Rows, TableProjection, TableView, dispatcher

__all__ = [
    "CaseStatus",
    "CaseStatusProjection",
    "CaseStatusView",
    "InMemoryCaseStatus",
]


class CaseStatusView(TableView, ABC):
    """Per case: the family's view; looked up by case id, tracking code or hospital key."""

    name = "case_status"
    tables = (CASES, SERVICES, HISTORY, DOCUMENTS)
    sealer = Sealer()  # plain text until the composition root gives it the cipher

    def document(self, case_id: UUID | str) -> bytes | None:
        """The family's case view as JSON bytes, ready to send (None until projected)."""
        row = self.get(DOCUMENTS, str(case_id))
        return None if row is None else self.sealer.open(row.body)

    def by_case_id(self, case_id: UUID | str) -> CaseStatus | None:
        return self._status(self.get(CASES, str(case_id)))

    def by_tracking_code(self, tracking_code: str) -> CaseStatus | None:
        where = {"tracking_code": tracking_code}
        found = self.select(CASES, where, order_by=("case_id",), limit=1)
        return self._status(found[0] if found else None)

    def by_hospital_ref(self, facility_uscc: str, hospital_ref: str) -> CaseStatus | None:
        where = {"facility_uscc": facility_uscc, "hospital_ref": hospital_ref}
        found = self.select(CASES, where, order_by=("case_id",), limit=1)
        return self._status(found[0] if found else None)

    def _status(self, case: CaseRow | None) -> CaseStatus | None:
        if case is None:
            return None
        where = {"case_id": case.case_id}
        services = self.select(SERVICES, where, order_by=("planned_position", "service_request_id"))
        history = self.select(HISTORY, where, order_by=("position", "stream_id", "version"))
        return assemble(case, services, history)


class InMemoryCaseStatus(InMemoryTables, CaseStatusView):
    """case_status in memory, for unit tests."""


def _places(facts: dict[str, Any]) -> dict[str, Any]:
    mother, father = facts.get("mother") or {}, facts.get("father") or {}
    return {
        "birth_division": facts.get("birth_division"),
        "mother_hukou": mother.get("hukou_division"),
        "father_hukou": father.get("hukou_division"),
    }


SHOWN = (
    BirthCase.Notified,
    BirthCase.NotificationCorrected,
    BirthCase.Voided,
    BirthCase.FamilyApplied,
    BirthCase.ServicesPlanned,
    BirthCase.Completed,
    BirthCase.Rated,
    ServiceRequest.Planned,
    ServiceRequest.Replanned,
    ServiceRequest.Dispatched,
    ServiceRequest.CorrectionFlagged,
    ServiceRequest.Received,
    ServiceRequest.SupplementRequested,
    ServiceRequest.Supplemented,
    ServiceRequest.Approved,
    ServiceRequest.Rejected,
    ServiceRequest.Withdrawn,
    ServiceRequest.DeadlineApproaching,
    ServiceRequest.Overdue,
)


class CaseStatusProjection(TableProjection[CaseStatusView]):
    """Keeps the family's view of every case: each event updates its case or service row
    and adds an entry (event name and time, no personal data) to the history. Each rule
    returns that history row: the case's document (case_document) is folded from it."""

    name = "case_status"
    topics = topics_of(*SHOWN)

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """The event's rows, then its case's pre-rendered document (case_document)."""
        self._rules()(event, position, rows)

    def _applier(self) -> Callable[[Any, int, Rows], None]:
        if type(self).apply is not CaseStatusProjection.apply:
            return self.apply  # a subclass's own (tests inject failures so)
        return self._rules()

    def _rules(self) -> Callable[[Any, int, Rows], None]:
        """`apply`, with the rules' dispatch resolved once per batch."""
        rules = dispatcher(CaseStatusProjection, "_rows")
        assert rules is not None
        sealer = self.view.sealer

        def apply(event: Any, position: int, rows: Rows) -> None:
            history = rules(event.__class__)(self, event, position, rows)
            if history is not None:
                update_document(rows, sealer, event, history)

        return apply

    def finish(self, rows: Rows) -> None:
        """Each document the batch touched, rendered and stored once."""
        finish_documents(rows, self.view.sealer)

    @singledispatchmethod
    def _rows(self, event: Any, position: int, rows: Rows) -> HistoryRow | None:
        """Other events (integration deliveries) do not show in this view."""
        return None

    @_rows.register
    def _(self, event: BirthCase.Notified, position: int, rows: Rows) -> HistoryRow:
        at, facts = stamp(event), event.facts
        case = CaseRow(
            case_id=str(event.originator_id),
            facility_uscc=event.facility_uscc,
            hospital_ref=event.record_ref,
            tracking_code=event.tracking_code,
            state="notified",
            household=facts.get("household_choice"),
            child_named=bool(facts.get("child_name")),
            applied=False,
            rated=False,
            notified_at=at,
            updated_at=at,
            **_places(facts),
        )
        rows.put(CASES, case)
        return history_row(rows, event, position, case.case_id, "", at)

    @_rows.register
    def _(self, event: BirthCase.NotificationCorrected, position: int, rows: Rows) -> HistoryRow:
        case = case_of(rows, event)
        facts = event.facts
        household = case.household if case.applied else facts.get("household_choice")
        named = case.applied or bool(facts.get("child_name"))
        return put_case(
            rows, event, position, case, household=household, child_named=named, **_places(facts)
        )

    @_rows.register
    def _(self, event: BirthCase.FamilyApplied, position: int, rows: Rows) -> HistoryRow:
        case = case_of(rows, event)
        state = "applied" if case.state == "notified" else case.state
        household = event.application.get("household")
        return put_case(
            rows, event, position, case, state=state, household=household, child_named=True,
            applied=True,
        )  # fmt: skip

    @_rows.register
    def _(self, event: BirthCase.Voided, position: int, rows: Rows) -> HistoryRow:
        return put_case(rows, event, position, case_of(rows, event), state="voided")

    @_rows.register
    def _(self, event: BirthCase.ServicesPlanned, position: int, rows: Rows) -> HistoryRow:
        return put_case(rows, event, position, case_of(rows, event), state="in-progress")

    @_rows.register
    def _(self, event: BirthCase.Completed, position: int, rows: Rows) -> HistoryRow:
        return put_case(rows, event, position, case_of(rows, event), state="completed")

    @_rows.register
    def _(self, event: BirthCase.Rated, position: int, rows: Rows) -> HistoryRow:
        return put_case(rows, event, position, case_of(rows, event), rated=True)

    @_rows.register
    def _(self, event: ServiceRequest.Planned, position: int, rows: Rows) -> HistoryRow:
        at = stamp(event)
        service = ServiceRow(
            service_request_id=str(event.originator_id),
            case_id=str(event.case_id),
            service=event.service,
            planned_position=position,
            state="planned",
            due=None,
            due_provisional=False,
            overdue=False,
            awaiting=(),
            updated_at=at,
            **route_fields(event.route),
        )
        rows.put(SERVICES, service)
        return history_row(rows, event, position, service.case_id, service.service_request_id, at)

    @_rows.register
    def _(self, event: ServiceRequest.Replanned, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, **route_fields(event.route))

    @_rows.register
    def _(self, event: ServiceRequest.Dispatched, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, state="dispatched")

    @_rows.register
    def _(self, event: ServiceRequest.Received, position: int, rows: Rows) -> HistoryRow:
        due, provisional = event.due, event.provisional
        return put_service(
            rows, event, position, state="received", due=due, due_provisional=provisional
        )

    @_rows.register
    def _(self, event: ServiceRequest.SupplementRequested, position: int, rows: Rows) -> HistoryRow:
        items = tuple(event.items)
        return put_service(rows, event, position, state="supplement-requested", awaiting=items)

    @_rows.register
    def _(self, event: ServiceRequest.Supplemented, position: int, rows: Rows) -> HistoryRow:
        return put_service(
            rows, event, position, state="received", awaiting=(), due=event.due,
            due_provisional=event.provisional,
        )  # fmt: skip

    @_rows.register
    def _(self, event: ServiceRequest.Approved, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, state="approved", overdue=False)

    @_rows.register
    def _(self, event: ServiceRequest.Rejected, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, state="rejected", overdue=False, awaiting=())

    @_rows.register
    def _(self, event: ServiceRequest.Withdrawn, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, state="withdrawn", overdue=False, awaiting=())

    @_rows.register
    def _(self, event: ServiceRequest.Overdue, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, overdue=True)

    @_rows.register
    def _(self, event: ServiceRequest.CorrectionFlagged, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position)

    @_rows.register
    def _(self, event: ServiceRequest.DeadlineApproaching, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position)
