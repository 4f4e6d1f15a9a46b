"""case_status: the family's view of one case: state, services, history and what to do next."""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable
from typing import Any
from uuid import UUID

import orjson

from domain.births.birth_case import BirthCase
from domain.births.facts import BirthFacts
from domain.births.planning import apply_by
from domain.births.wing import BIRTHS
from domain.kernel.routing import Route
from domain.kernel.routing_desk import desk_due
from domain.kernel.service_request import ServiceRequest
from domain.wings import kind_of_service, national_list
from engine.memory import InMemoryTables
from engine.rows import Rows, changed
from engine.view import TableProjection, TableView
from projections.case_document import (
    DOCUMENTS,
    TRACKING_CODE,
    DocumentRow,
    Folding,
    HeldDocuments,
    Sealer,
    Working,
    family_extras,
    finish_documents,
    folding,
    note_of,
)
from projections.case_status_model import (
    CASES,
    OTHER_KINDS,
    SERVICES,
    WINDOWS,
    CaseRow,
    CaseStatus,
    OtherKindError,
    OtherKindRow,
    ServiceRow,
    WindowRow,
    assemble,
)
from projections.events import cst_date, route_fields, stamp, topics_of

PLAN_ORDER = ("planned_position", "service_request_id")
__all__ = [
    "CaseStatus",
    "CaseStatusProjection",
    "CaseStatusView",
    "InMemoryCaseStatus",
]


class CaseStatusView(TableView, ABC):
    """Per case: the family's view; looked up by case id, tracking code or hospital key."""

    name = "case_status"
    # 2: the family's document lists its materials (domain/kernel/materials.py); 3: each
    # service once, its latest attempt (a resubmission's list is not counted again); 4: the
    # items of each answered one-time notice counted, as the office's view counts them
    revision = 4
    tables = (CASES, SERVICES, DOCUMENTS, OTHER_KINDS, WINDOWS)
    sealer = Sealer()  # plain text until the composition root gives it the cipher

    def document(self, case_id: UUID | str) -> bytes | None:
        """The family's case view as JSON bytes, ready to send (None until projected)."""
        row = self.get(DOCUMENTS, str(case_id))
        return None if row is None else self.sealer.open(row.body)

    def by_case_id(self, case_id: UUID | str) -> CaseStatus | None:
        return self._status(self.get(CASES, str(case_id)))

    def family_extras(self, case_id: UUID | str) -> dict[str, Any]:
        """The next action and the timeline, as the family's document shows them (rendered by
        the same function), for a view replayed from the events; empty until projected."""
        case = self.get(CASES, str(case_id))
        if case is None:
            return {}
        services = self.select(SERVICES, {"case_id": case.case_id}, order_by=PLAN_ORDER)
        document = self.get(DOCUMENTS, case.case_id)  # written in the case row's transaction
        return family_extras(case, services, *_timeline_and_notes(document))

    def same_delivery(self, case_id: UUID | str) -> tuple[int | None, list[str]] | None:
        """A child of a delivery the hospital named: how many it had, and the other cases
        born in it (twins, triplets) by case id; None for a case without one."""
        case = self.get(CASES, str(case_id))
        if case is None or case.delivery is None:
            return None
        rows = self.select(CASES, {"delivery": case.delivery}, order_by=("case_id",), limit=20)
        return case.multiple_birth, [r.case_id for r in rows if r.case_id != case.case_id]

    def by_tracking_code(self, tracking_code: str) -> CaseStatus | None:
        return self._first({}, "tracking_code", tracking_code)

    def by_hospital_ref(self, facility_uscc: str, hospital_ref: str) -> CaseStatus | None:
        return self._first({"facility_uscc": facility_uscc}, "hospital_ref", hospital_ref)

    def _first(self, where: dict[str, str], column: str, secret: str) -> CaseStatus | None:
        """The case whose `column` holds `secret` (as a digest under any index key)."""
        for stored in self.sealer.indexes(secret):
            found = self.select(CASES, {**where, column: stored}, order_by=("case_id",), limit=1)
            if found:
                return self._status(found[0])
        return None

    def _status(self, case: CaseRow | None) -> CaseStatus | None:
        if case is None:
            return None
        where = {"case_id": case.case_id}
        services = self.select(SERVICES, where, order_by=PLAN_ORDER)
        document = self.get(DOCUMENTS, case.case_id)  # written in the case row's transaction
        return assemble(case, services, *_timeline_and_notes(document))


def _timeline_and_notes(document: DocumentRow | None) -> tuple[list[Any], dict[str, Any]]:
    if document is None:
        return [], {}
    work = orjson.loads(document.work)
    return work["timeline"], work.get("notes") or {}


class InMemoryCaseStatus(InMemoryTables, CaseStatusView):
    """case_status in memory, for unit tests."""


def _places(facts: BirthFacts) -> dict[str, Any]:
    father = facts.father
    return {
        "birth_division": facts.birth_division,
        "mother_hukou": facts.mother.hukou_division,
        "father_hukou": father.hukou_division if father else None,
        "apply_by": apply_by(facts).isoformat(),
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
    ServiceRequest.DeemedAccepted,
    ServiceRequest.Routed,
    ServiceRequest.RoutingOverdue,
    ServiceRequest.Blocked,
    ServiceRequest.Resubmitted,
    BirthCase.Closed,
    BirthCase.VoidRequested,
    BirthCase.VoidFinished,
    BirthCase.FamilyCorrected,
    ServiceRequest.Redispatched,
    ServiceRequest.CorrectionRequested,
    ServiceRequest.CorrectionApproved,
    ServiceRequest.CorrectionRejected,
    ServiceRequest.CorrectionWithdrawn,
    ServiceRequest.RevocationRequested,
    ServiceRequest.Revoked,
)


Rule = Callable[[Any, int, Folding], None]


class CaseStatusProjection(TableProjection[CaseStatusView]):
    """Keeps the family's view of every case: each event updates its case or service row
    and adds an entry (event name and time, no personal data) to the timeline of its
    case's pre-rendered document (case_document). Within a batch the rows live in their
    case's working document; each changed row and document is stored once, at its end."""

    name = "case_status"
    topics = topics_of(*SHOWN)
    by_case = True  # cases, services and documents: rows of one case each
    held: HeldDocuments | None = None  # a rebuild in parts: documents written once rested

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """The event's rows, then its case's pre-rendered document (case_document)."""
        self._rules()(event, position, rows)

    def _applier(self) -> Callable[[Any, int, Rows], None]:
        if type(self).apply is not CaseStatusProjection.apply:
            return self.apply  # a subclass's own (tests inject failures so)
        return self._rules()

    def hold_documents(self, end: int) -> HeldDocuments:
        """From now on (a part of a rebuild in parts, ending at `end`), write each family
        document once its case has rested for a few pages, and all of them at `end`."""
        self.held = HeldDocuments(end)
        return self.held

    def rebuilding_in_parts(self, head: int) -> Callable[[int], None]:
        """Hold the family documents back until their cases rest (a rebuild in parts is never
        resumed, so nothing held is lost to a crash) and write them all at the part's last
        page, whose position the returned function is told once the time box decides it."""
        held = self.hold_documents(head)

        def ending(position: int) -> None:
            held.end = position

        return ending

    def _rules(self) -> Callable[[Any, int, Rows], None]:
        """`apply`: the rule of the event's class (looked up in a dict), on the batch's state."""
        sealer, held = self.view.sealer, self.held

        def apply(event: Any, position: int, rows: Rows) -> None:
            cls = event.__class__
            rule = RULES[cls] if cls in RULES else _rule_for(cls)
            if rule is not None:
                try:  # noqa: SIM105  (no context manager per event on a rebuild's path)
                    rule(event, position, folding(rows, sealer, held))
                except OtherKindError:
                    pass  # a request of another wing's case

        return apply

    def finish(self, rows: Rows) -> None:
        """Each row the batch changed and each document it touched, stored once (documents
        held back are counted down even by a page without events of theirs)."""
        if self.held is not None:
            folding(rows, self.view.sealer, self.held)
        finish_documents(rows)


def _rule_for(cls: type) -> Rule | None:
    """A subclass of a shown event follows its base's rule; other events show nothing."""
    return next((RULES[base] for base in cls.__mro__ if base in RULES), None)


def _notified(event: BirthCase.Notified, position: int, page: Folding) -> None:
    at, facts, case_id = stamp(event), event.facts, str(event.originator_id)
    working = page.case(case_id)
    sealer = page.sealer
    if sealer.indexing:  # the view holds digests; the family's document shows the code
        working.results[TRACKING_CODE] = event.tracking_code
    working.case = CaseRow(
        case_id=case_id,
        facility_uscc=event.facility_uscc,
        hospital_ref=sealer.index(event.record_ref),
        tracking_code=sealer.index(event.tracking_code),
        state="notified",
        household=facts.household_choice,
        child_named=bool(facts.child_name),
        applied=False,
        rated=False,
        notified_at=at,
        updated_at=at,
        **_places(facts),
        **_delivery(sealer, facts),
    )
    page.history(working, event, position, "", at)


def _delivery(sealer: Sealer, facts: BirthFacts) -> dict[str, Any]:
    """The delivery a child of a multiple birth was born in (twins share it): the hospital's
    key, sealed. A single birth links to nothing: hospitals name every delivery, and only
    a multiple birth's children carry multipleBirthInteger (each family read of a linked
    case reads its siblings too)."""
    ref = facts.delivery_ref if facts.multiple_birth is not None else None
    key = sealer.index(f"{facts.facility_uscc}/{ref}") if ref else None
    return {"delivery": key, "multiple_birth": facts.multiple_birth if ref else None}


def _put_case(event: Any, position: int, page: Folding, **changes: Any) -> Working:
    """The case's row with `changes` (and the event's time); its history entry."""
    case_id, at = str(event.originator_id), stamp(event)
    working = page.case(case_id)
    working.case = changed(page.case_row(working, case_id), updated_at=at, **changes)
    page.history(working, event, position, "", at)
    return working


def _case(**changes: Any) -> Rule:
    def rule(event: Any, position: int, page: Folding) -> None:
        _put_case(event, position, page, **changes)

    return rule


def _corrected(event: BirthCase.NotificationCorrected, position: int, page: Folding) -> None:
    case_id = str(event.originator_id)
    case = page.case_row(page.case(case_id), case_id)
    facts = event.facts
    household = case.household if case.applied else facts.household_choice
    named = case.applied or bool(facts.child_name)
    _put_case(
        event, position, page, household=household, child_named=named, **_places(facts),
        **_delivery(page.sealer, facts),
    )  # fmt: skip


def _applied(
    event: BirthCase.FamilyApplied | BirthCase.FamilyCorrected, position: int, page: Folding
) -> None:
    case_id = str(event.originator_id)
    case = page.case_row(page.case(case_id), case_id)
    state = "applied" if case.state == "notified" else case.state
    household = event.application.household
    _put_case(
        event, position, page, state=state, household=household, child_named=True, applied=True
    )


def _services_planned(event: BirthCase.ServicesPlanned, position: int, page: Folding) -> None:
    working = _put_case(event, position, page, state="in-progress")
    case_id = UUID(working.work["case_id"])  # request ids computed once, here
    working.work["planned"] = [str(ServiceRequest.create_id(case_id, s)) for s in event.services]


def _planned(event: ServiceRequest.Planned, position: int, page: Folding) -> None:
    kind = kind_of_service(event.service)
    if kind != BIRTHS.kind:
        page.rows.put(OTHER_KINDS, OtherKindRow(str(event.originator_id), kind))
        return
    at, case_id = stamp(event), str(event.case_id)
    service = ServiceRow(
        service_request_id=str(event.originator_id),
        case_id=case_id,
        service=event.service,
        planned_position=position,
        state="planned",
        overdue=False,
        awaiting=(),
        updated_at=at,
        **route_fields(event.route),
        **_desk_due(event.route, at),
    )
    working = page.case(case_id)
    page.planned(working, service)
    page.history(working, event, position, service.service_request_id, at)
    if event.attempt > 1:  # a resubmission: shown right after the request it resubmits
        request_id, resubmits = service.service_request_id, str(event.resubmits)
        note = note_of(working, request_id)
        note.update(attempt=event.attempt, resubmits=resubmits)
        planned = working.work["planned"]
        at_index = planned.index(resubmits) + 1 if resubmits in planned else len(planned)
        planned.insert(at_index, request_id)


def _put_service(event: Any, position: int, page: Folding, **changes: Any) -> Working:
    """The request's row with `changes` (and the event's time); its history entry."""
    request_id, at = str(event.originator_id), stamp(event)
    working, service = page.service(request_id)
    working.services[request_id] = changed(service, updated_at=at, **changes)
    page.history(working, event, position, request_id, at)
    return working


def _service(**changes: Any) -> Rule:
    def rule(event: Any, position: int, page: Folding) -> None:
        _put_service(event, position, page, **changes)

    return rule


def _desk_due(route: Route, parked_at: str) -> dict[str, Any]:
    """A request waiting at the routing desk is due there (the desk's working days from the
    day it was parked); any other route has no due date until an office receives it."""
    if not route.manual_routing:
        return {"due": None, "due_provisional": False}
    due = desk_due(cst_date(parked_at), national_list().desk_days)
    return {"due": due.date.isoformat(), "due_provisional": due.provisional}


def _rerouted(event: Any, position: int, page: Folding) -> None:
    """A revised plan's route or the routing desk's: parked since then, or no longer."""
    _, service = page.service(str(event.originator_id))
    still_parked = service.manual_routing and event.route.manual_routing
    due = {} if still_parked else _desk_due(event.route, stamp(event))
    overdue = {} if still_parked else {"overdue": False}
    _put_service(event, position, page, **route_fields(event.route), **due, **overdue)


def _received(event: ServiceRequest.Received, position: int, page: Folding) -> None:
    due, provisional = event.due, event.provisional
    _put_service(event, position, page, state="received", due=due, due_provisional=provisional)


def _supplement_requested(
    event: ServiceRequest.SupplementRequested, position: int, page: Folding
) -> None:
    items = tuple(event.items)
    family = {} if event.family_due is None else {
        "due": event.family_due, "due_provisional": event.family_due_provisional,
        "overdue": False,
    }  # fmt: skip
    working = _put_service(
        event, position, page, state="supplement-requested", awaiting=items, **family
    )
    working.work["shown"][str(event.originator_id)] = list(event.items)


def _supplemented(event: ServiceRequest.Supplemented, position: int, page: Folding) -> None:
    # the office's clock starts again: not late until the new due date
    working = _put_service(
        event, position, page, state=event.resumes, awaiting=(), due=event.due,
        due_provisional=event.provisional, overdue=False,
    )  # fmt: skip
    # The aggregate keeps the items shown when rejected or withdrawn: so does its view.
    request_id = str(event.originator_id)
    asked = working.work["shown"].get(request_id) or []
    working.work["shown"][request_id] = []
    # what the answered notice asked for, which the family's materials count as its office
    # does (domain/kernel/materials.py, request_counts)
    note_of(working, request_id).setdefault("notices", []).append(list(asked))


def _dispatched(event: ServiceRequest.Dispatched, position: int, page: Folding) -> None:
    """At the receiving window: its due date, from the materials' arrival (and no longer
    blocked: what blocked it was approved after all)."""
    due, provisional = event.due, event.provisional
    working = _put_service(
        event, position, page, state="dispatched", due=due, due_provisional=provisional
    )
    note = working.work.get("notes", {}).get(str(event.originator_id))
    if note is not None:
        note.pop("blocked_by", None)


def _deemed(event: ServiceRequest.DeemedAccepted, position: int, page: Folding) -> None:
    """Accepted by law: the handling office's due date, counted from the arrival."""
    due, provisional = event.due, event.provisional
    _put_service(
        event, position, page, state="received", due=due, due_provisional=provisional,
        overdue=False,
    )  # fmt: skip


def _approved(event: ServiceRequest.Approved, position: int, page: Folding) -> None:
    working = _put_service(event, position, page, state="approved", overdue=False)
    working.results[str(event.originator_id)] = event.result.to_dict()


def _rejected(event: ServiceRequest.Rejected, position: int, page: Folding) -> None:
    working = _put_service(event, position, page, state="rejected", overdue=False, awaiting=())
    note_of(working, str(event.originator_id))["rejection"] = {
        "reason": event.reason,
        "basis": event.basis,
        "due": event.family_due,
        "due_provisional": event.provisional,
    }
    if event.family_due is not None:
        case_id = working.work["case_id"]
        found = page.rows.get(WINDOWS, case_id)
        due = event.family_due if found is None else max(found.due, event.family_due)
        page.rows.put(WINDOWS, WindowRow(case_id, due))


def _blocked(event: ServiceRequest.Blocked, position: int, page: Folding) -> None:
    working = _put_service(event, position, page, state="blocked")
    note_of(working, str(event.originator_id))["blocked_by"] = {
        "service": event.blocking_service,
        "service_request_id": str(event.blocked_by),
    }


def _resubmitted(event: ServiceRequest.Resubmitted, position: int, page: Folding) -> None:
    working = _put_service(event, position, page)
    note_of(working, str(event.originator_id))["resubmitted_as"] = str(event.new_request_id)


def _case_ended(state: str | None) -> Rule:
    """Completed, voided or closed: the case's window to act (if any) is gone."""

    def rule(event: Any, position: int, page: Folding) -> None:
        changes = {} if state is None else {"state": state}
        working = _put_case(event, position, page, **changes)
        page.rows.delete(WINDOWS, working.work["case_id"])

    return rule


def _correction_requested(
    event: ServiceRequest.CorrectionRequested, position: int, page: Folding
) -> None:
    due, provisional = event.due, event.provisional
    _put_service(
        event, position, page, state="correction-requested", due=due,
        due_provisional=provisional, overdue=False,
    )  # fmt: skip


def _correction_approved(
    event: ServiceRequest.CorrectionApproved, position: int, page: Folding
) -> None:
    working = _put_service(event, position, page, state="approved", overdue=False)
    working.results[str(event.originator_id)] = event.result.to_dict()


def _revocation_requested(
    event: ServiceRequest.RevocationRequested, position: int, page: Folding
) -> None:
    due, provisional = event.due, event.provisional
    _put_service(
        event, position, page, state="revocation-requested", due=due,
        due_provisional=provisional, overdue=False,
    )  # fmt: skip


RULES: dict[type, Rule] = {
    BirthCase.Notified: _notified,
    BirthCase.NotificationCorrected: _corrected,
    BirthCase.FamilyApplied: _applied,
    BirthCase.Voided: _case_ended("voided"),
    BirthCase.ServicesPlanned: _services_planned,
    BirthCase.Completed: _case_ended("completed"),
    BirthCase.Rated: _case(rated=True),
    ServiceRequest.Planned: _planned,
    ServiceRequest.Replanned: _rerouted,
    ServiceRequest.Dispatched: _dispatched,
    ServiceRequest.Received: _received,
    ServiceRequest.SupplementRequested: _supplement_requested,
    ServiceRequest.Supplemented: _supplemented,
    ServiceRequest.Approved: _approved,
    ServiceRequest.Rejected: _rejected,
    ServiceRequest.Withdrawn: _service(state="withdrawn", overdue=False, awaiting=()),
    ServiceRequest.Overdue: _service(overdue=True),
    ServiceRequest.CorrectionFlagged: _service(),
    ServiceRequest.DeadlineApproaching: _service(),
    ServiceRequest.DeemedAccepted: _deemed,
    ServiceRequest.Routed: _rerouted,
    ServiceRequest.RoutingOverdue: _service(overdue=True),
    ServiceRequest.Blocked: _blocked,
    ServiceRequest.Resubmitted: _resubmitted,
    BirthCase.Closed: _case_ended("closed"),
    BirthCase.VoidRequested: _case_ended("voiding"),
    BirthCase.VoidFinished: _case_ended("voided"),
    BirthCase.FamilyCorrected: _applied,
    ServiceRequest.Redispatched: _service(),
    ServiceRequest.CorrectionRequested: _correction_requested,
    ServiceRequest.CorrectionApproved: _correction_approved,
    ServiceRequest.CorrectionRejected: _service(state="approved", overdue=False),
    ServiceRequest.CorrectionWithdrawn: _service(state="approved", overdue=False),
    ServiceRequest.RevocationRequested: _revocation_requested,
    ServiceRequest.Revoked: _service(state="revoked", overdue=False),
}
