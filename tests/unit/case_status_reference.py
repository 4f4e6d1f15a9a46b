"""The case_status rules and family document folding as they were before the per-case fast
path (commit 7073857): a frozen oracle, so tests can show the fast path writes the same rows.
(Issue 17 added, in the same plain style, what a document notes of rejections, blocks and
resubmissions, the families' windows and a closed case's summary.)"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import orjson

from domain.births.birth_case import BirthCase
from domain.births.catalog import load_catalog, load_materials
from domain.births.facts import BirthFacts
from domain.births.planning import apply_by
from domain.kernel.materials import case_materials
from domain.kernel.routing import Route
from domain.kernel.routing_desk import desk_due
from domain.kernel.service_request import ServiceRequest
from domain.wings import national_list
from engine.rows import Rows, changed, dispatcher, require
from engine.view import TableProjection
from projections.case_document import DOCUMENTS, DocumentRow, Sealer, closing_summary
from projections.case_status import CaseStatusView
from projections.case_status_model import (
    CASES,
    SERVICES,
    WINDOWS,
    CaseRow,
    ServiceRow,
    WindowRow,
    handling,
    next_action,
)
from projections.case_view import noted_fields
from projections.events import cst_date, route_fields, stamp, topics_of
from projections.waiting import waiting_on_fields

SCRATCH = "reference_documents"


@dataclass(frozen=True)
class HistoryRow:
    """One event's entry in its case's timeline. (The view stored these in a history table
    too until the timeline in the case's document became its only copy.)"""

    stream_id: str
    version: int
    position: int
    case_id: str
    service_request_id: str  # "" for the case's own events
    event: str
    at: str


PARSED = "_reference_parsed"


def _new_work(case_id: str) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "case": None,
        "planned": [],
        "services": {},
        "shown": {},
        "timeline": [],
    }


@dataclass
class _Working:
    """One case's document while a batch folds its events: rendered once, at the batch's end."""

    work: dict[str, Any]
    results: dict[str, Any]  # request id → result (personal: sealed when stored)
    seen: set[tuple[str, int]]  # (stream, version) already in the timeline
    touched: dict[str, None] = field(default_factory=dict)  # request ids ("" = case), in order


def _load(rows: Rows, sealer: Sealer, case_id: str) -> _Working:
    """The case's stored work and results, or new ones. A row this process wrote carries
    them parsed (`PARSED`): taken, so that one batch only ever folds them (if it rolls back,
    the next reads the row's own text)."""
    row = rows.get(DOCUMENTS, case_id)
    if row is None:
        return _Working(_new_work(case_id), {}, set())
    parsed: _Working | None = vars(row).pop(PARSED, None)
    if parsed is not None:
        return parsed
    work: dict[str, Any] = orjson.loads(row.work)
    results: dict[str, Any] = orjson.loads(sealer.open(work.pop("results")))
    return _Working(work, results, {(e[1], e[2]) for e in work["timeline"]})


def _working(rows: Rows, sealer: Sealer, case_id: str) -> _Working:
    """The batch's working copy of a case's document (loaded at its first event)."""
    cases: dict[str, _Working] = rows.scratch.setdefault(SCRATCH, {})
    found = cases.get(case_id)
    if found is None:
        found = cases[case_id] = _load(rows, sealer, case_id)
    return found


def update_document(rows: Rows, sealer: Sealer, event: Any, history: HistoryRow) -> None:
    """Fold one case_status event, whose rows and `history` row are written, into its case's
    document; `finish_documents` renders and stores it once the batch's events are folded."""
    working = _working(rows, sealer, history.case_id)
    request_id = history.service_request_id
    _fold(working, event, request_id)
    seen = (history.stream_id, history.version)
    if seen not in working.seen:
        working.seen.add(seen)
        working.work["timeline"].append(
            [history.position, *seen, request_id, history.event, history.at]
        )


def finish_documents(rows: Rows, sealer: Sealer) -> None:
    """Render, seal and store each document the batch touched, once."""
    for case_id, working in rows.scratch.pop(SCRATCH, {}).items():
        _refresh(rows, case_id, working)
        work, results = working.work, working.results
        body = sealer.seal(orjson.dumps(render(work, results), option=orjson.OPT_NON_STR_KEYS))
        work["results"] = sealer.seal(orjson.dumps(results))
        document = DocumentRow(case_id, orjson.dumps(work).decode(), body)
        del work["results"]
        working.touched = {}
        vars(document)[PARSED] = working  # not a field: what the row's text holds, parsed
        rows.put(DOCUMENTS, document)


def _refresh(rows: Rows, case_id: str, working: _Working) -> None:
    """The case and service rows the batch touched, as its last event left them."""
    work = working.work
    for request_id in working.touched:
        if not request_id:
            work["case"] = _plain(require(rows.get(CASES, case_id), "case", case_id))
        else:
            service = require(rows.get(SERVICES, request_id), "service request", request_id)
            work["services"][request_id] = _plain(service)


def _fold(working: _Working, event: Any, request_id: str) -> None:
    work = working.work
    working.touched[request_id] = None
    if not request_id:
        if isinstance(event, BirthCase.ServicesPlanned):  # request ids computed once, here
            case_id = UUID(work["case_id"])
            work["planned"] = [str(ServiceRequest.create_id(case_id, s)) for s in event.services]
        return
    if request_id not in work["services"]:
        work["services"][request_id] = None  # its row at the batch's end: in first-event order
    shown = work["shown"].get(request_id, [])
    if isinstance(event, ServiceRequest.SupplementRequested):
        shown = list(event.items)
    elif isinstance(event, ServiceRequest.Supplemented):
        # what the answered notice asked for, counted in the family's materials (issue 21)
        notices = work.setdefault("notes", {}).setdefault(request_id, {})
        notices.setdefault("notices", []).append(list(shown))
        shown = []  # the aggregate keeps them when rejected or withdrawn: so does its view
    if isinstance(event, ServiceRequest.Approved | ServiceRequest.CorrectionApproved):
        working.results[request_id] = event.result.to_dict()
    work["shown"][request_id] = shown
    _note(work, event, request_id)


def _note(work: dict[str, Any], event: Any, request_id: str) -> None:
    """What the document notes of a request beyond its row (issue 17)."""
    if isinstance(event, ServiceRequest.Planned) and event.attempt > 1:
        resubmits = str(event.resubmits)
        work.setdefault("notes", {}).setdefault(request_id, {}).update(
            attempt=event.attempt, resubmits=resubmits
        )
        planned = work["planned"]
        index = planned.index(resubmits) + 1 if resubmits in planned else len(planned)
        planned.insert(index, request_id)
    elif isinstance(event, ServiceRequest.Rejected):
        work.setdefault("notes", {}).setdefault(request_id, {})["rejection"] = {
            "reason": event.reason,
            "basis": event.basis,
            "due": event.family_due,
            "due_provisional": event.provisional,
        }
    elif isinstance(event, ServiceRequest.Blocked):
        work.setdefault("notes", {}).setdefault(request_id, {})["blocked_by"] = {
            "service": event.blocking_service,
            "service_request_id": str(event.blocked_by),
        }
    elif isinstance(event, ServiceRequest.Resubmitted):
        note = work.setdefault("notes", {}).setdefault(request_id, {})
        note["resubmitted_as"] = str(event.new_request_id)
    elif isinstance(event, ServiceRequest.Dispatched) and request_id in work.get("notes", {}):
        work["notes"][request_id].pop("blocked_by", None)


def _plain(row: CaseRow | ServiceRow) -> dict[str, Any]:
    """A row's fields as a JSON-ready dict (shallow: dataclasses.asdict deep-copies)."""
    return {name: getattr(row, name) for name in row.__dataclass_fields__}


def _service_row(stored: dict[str, Any]) -> ServiceRow:
    return ServiceRow(**{**stored, "awaiting": tuple(stored["awaiting"])})


def render(work: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """The family's case view, as `GET /cases/{id}` answers it (same fields, same order)."""
    case = CaseRow(**work["case"])
    stored = work["services"]
    shown = work["shown"]
    notes = work.get("notes", {})
    services = [
        _shown(stored[i], shown[i], results, notes.get(i)) for i in work["planned"] if i in stored
    ]
    rows = sorted(
        (_service_row(s) for s in stored.values()),
        key=lambda s: (s.planned_position, s.service_request_id),
    )
    rendered: dict[str, Any] = {
        "case_id": case.case_id,
        "state": case.state,
        "services": services,
        "tracking_code": case.tracking_code,
        "next_action": next_action(case, rows, notes),
        "waiting_on": waiting_on_fields(case, rows, notes),
        "handling": handling(rows),
        "timeline": _timeline(work["timeline"], [r.service_request_id for r in rows], stored),
        "materials": case_materials(
            load_catalog(),
            load_materials(),
            [asdict(r) for r in rows],
            {i: note.get("notices", []) for i, note in notes.items()},
        ),
    }
    if case.state == "closed":
        rendered["summary"] = closing_summary(rows, notes)
    return rendered | _delivery(case)


def _delivery(case: CaseRow) -> dict[str, Any]:
    if case.delivery is None:
        return {}
    return {"delivery": {"multiple_birth": case.multiple_birth, "siblings": []}}


def _shown(
    service: dict[str, Any],
    awaiting: list[str],
    results: dict[str, Any],
    note: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "service": service["service"],
        "service_request_id": service["service_request_id"],
        "state": service["state"],
        "handling_locality": service["handling_locality"],
        "receiving_locality": service["receiving_locality"],
        "mode": service["mode"],
        "manual_routing": service["manual_routing"],
        "due": service["due"],
        "due_provisional": service["due_provisional"],
        **noted_fields(note),
        "result": results.get(service["service_request_id"]) or None,
        "awaiting": awaiting,
    }


def _timeline(
    entries: Sequence[list[Any]], order: Sequence[str], stored: dict[str, Any]
) -> list[dict[str, Any]]:
    """The case's events, then each request's in plan order, each in log order; then by time."""
    ordered = sorted(entries, key=lambda e: (e[0], e[1], e[2]))
    timeline: list[dict[str, Any]] = [{"event": e[4], "at": e[5]} for e in ordered if not e[3]]
    for request_id in order:
        service = stored[request_id]["service"]
        timeline += [
            {"service": service, "event": e[4], "at": e[5]} for e in ordered if e[3] == request_id
        ]
    return sorted(timeline, key=lambda h: h["at"])


# Writing the rows: one stamp and one str(uuid) per event; each rule returns its history row.


def history_row(
    rows: Rows, event: Any, position: int, case_id: str, request_id: str, at: str
) -> HistoryRow:
    """The event's timeline entry (its stream is the case's, or the request's when given)."""
    stream = request_id or case_id
    return HistoryRow(
        stream,
        int(event.originator_version),
        position,
        case_id,
        request_id,
        type(event).__name__,
        at,
    )


def case_of(rows: Rows, event: Any) -> CaseRow:
    case_id = str(event.originator_id)
    return require(rows.get(CASES, case_id), "case", case_id)


def put_case(rows: Rows, event: Any, position: int, case: CaseRow, **changes: Any) -> HistoryRow:
    at = stamp(event)
    rows.put(CASES, changed(case, updated_at=at, **changes))
    return history_row(rows, event, position, case.case_id, "", at)


def put_service(rows: Rows, event: Any, position: int, **changes: Any) -> HistoryRow:
    request_id, at = str(event.originator_id), stamp(event)
    service = require(rows.get(SERVICES, request_id), "service request", request_id)
    rows.put(SERVICES, changed(service, updated_at=at, **changes))
    return history_row(rows, event, position, service.case_id, request_id, at)


def desk_due_of(route: Route, at: str) -> dict[str, Any]:
    """Parked at the routing desk: due there; any other route: no due date yet."""
    if not route.manual_routing:
        return {"due": None, "due_provisional": False}
    due = desk_due(cst_date(at), national_list().desk_days)
    return {"due": due.date.isoformat(), "due_provisional": due.provisional}


def rerouted(rows: Rows, event: Any, position: int) -> HistoryRow:
    """A new route: parked since then (or still, keeping its due date), or no longer."""
    request_id = str(event.originator_id)
    service = require(rows.get(SERVICES, request_id), "service request", request_id)
    if service.manual_routing and event.route.manual_routing:
        return put_service(rows, event, position, **route_fields(event.route))
    due = desk_due_of(event.route, stamp(event))
    return put_service(rows, event, position, **route_fields(event.route), **due, overdue=False)


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
    # issue 17: after a decision (rules written with the fast path's, in the same terms)
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


class ReferenceCaseStatusProjection(TableProjection[CaseStatusView]):
    """Keeps the family's view of every case: each event updates its case or service row
    and adds an entry (event name and time, no personal data) to the history. Each rule
    returns that history row: the case's document (case_document) is folded from it."""

    name = "case_status"
    topics = topics_of(*SHOWN)

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """The event's rows, then its case's pre-rendered document (case_document)."""
        self._rules()(event, position, rows)

    def _applier(self) -> Callable[[Any, int, Rows], None]:
        if type(self).apply is not ReferenceCaseStatusProjection.apply:
            return self.apply  # a subclass's own (tests inject failures so)
        return self._rules()

    def _rules(self) -> Callable[[Any, int, Rows], None]:
        """`apply`, with the rules' dispatch resolved once per batch."""
        rules = dispatcher(ReferenceCaseStatusProjection, "_rows")
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
            household=facts.household_choice,
            child_named=bool(facts.child_name),
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
        household = case.household if case.applied else facts.household_choice
        named = case.applied or bool(facts.child_name)
        return put_case(
            rows, event, position, case, household=household, child_named=named, **_places(facts)
        )

    @_rows.register
    def _(self, event: BirthCase.FamilyCorrected, position: int, rows: Rows) -> HistoryRow:
        case = case_of(rows, event)
        household = event.application.household
        return put_case(
            rows, event, position, case, household=household, child_named=True, applied=True
        )

    @_rows.register
    def _(self, event: BirthCase.VoidRequested, position: int, rows: Rows) -> HistoryRow:
        return put_case(rows, event, position, case_of(rows, event), state="voiding")

    @_rows.register
    def _(self, event: BirthCase.VoidFinished, position: int, rows: Rows) -> HistoryRow:
        return put_case(rows, event, position, case_of(rows, event), state="voided")

    @_rows.register
    def _(self, event: ServiceRequest.Redispatched, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position)

    @_rows.register
    def _(self, event: ServiceRequest.CorrectionRequested, position: int, rows: Rows) -> HistoryRow:
        return put_service(
            rows, event, position, state="correction-requested", due=event.due,
            due_provisional=event.provisional, overdue=False,
        )  # fmt: skip

    @_rows.register
    def _(self, event: ServiceRequest.CorrectionApproved, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, state="approved", overdue=False)

    @_rows.register
    def _(self, event: ServiceRequest.CorrectionRejected, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, state="approved", overdue=False)

    @_rows.register
    def _(self, event: ServiceRequest.CorrectionWithdrawn, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, state="approved", overdue=False)

    @_rows.register
    def _(self, event: ServiceRequest.RevocationRequested, position: int, rows: Rows) -> HistoryRow:
        return put_service(
            rows, event, position, state="revocation-requested", due=event.due,
            due_provisional=event.provisional, overdue=False,
        )  # fmt: skip

    @_rows.register
    def _(self, event: ServiceRequest.Revoked, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, state="revoked", overdue=False)

    @_rows.register
    def _(self, event: BirthCase.FamilyApplied, position: int, rows: Rows) -> HistoryRow:
        case = case_of(rows, event)
        state = "applied" if case.state == "notified" else case.state
        household = event.application.household
        return put_case(
            rows, event, position, case, state=state, household=household, child_named=True,
            applied=True,
        )  # fmt: skip

    @_rows.register
    def _(self, event: BirthCase.Voided, position: int, rows: Rows) -> HistoryRow:
        rows.delete(WINDOWS, str(event.originator_id))
        return put_case(rows, event, position, case_of(rows, event), state="voided")

    @_rows.register
    def _(self, event: BirthCase.ServicesPlanned, position: int, rows: Rows) -> HistoryRow:
        return put_case(rows, event, position, case_of(rows, event), state="in-progress")

    @_rows.register
    def _(self, event: BirthCase.Completed, position: int, rows: Rows) -> HistoryRow:
        rows.delete(WINDOWS, str(event.originator_id))
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
            overdue=False,
            awaiting=(),
            updated_at=at,
            **route_fields(event.route),
            **desk_due_of(event.route, at),
        )
        rows.put(SERVICES, service)
        return history_row(rows, event, position, service.case_id, service.service_request_id, at)

    @_rows.register
    def _(self, event: ServiceRequest.Replanned, position: int, rows: Rows) -> HistoryRow:
        return rerouted(rows, event, position)

    @_rows.register
    def _(self, event: ServiceRequest.Routed, position: int, rows: Rows) -> HistoryRow:
        return rerouted(rows, event, position)

    @_rows.register
    def _(self, event: ServiceRequest.RoutingOverdue, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, overdue=True)

    @_rows.register
    def _(self, event: ServiceRequest.Dispatched, position: int, rows: Rows) -> HistoryRow:
        return put_service(
            rows, event, position, state="dispatched", due=event.due,
            due_provisional=event.provisional,
        )  # fmt: skip

    @_rows.register
    def _(self, event: ServiceRequest.Received, position: int, rows: Rows) -> HistoryRow:
        due, provisional = event.due, event.provisional
        return put_service(
            rows, event, position, state="received", due=due, due_provisional=provisional
        )

    @_rows.register
    def _(self, event: ServiceRequest.SupplementRequested, position: int, rows: Rows) -> HistoryRow:
        items = tuple(event.items)
        family: dict[str, Any] = {}
        if event.family_due is not None:  # the family's window to answer the notice
            family = {"due": event.family_due, "due_provisional": event.family_due_provisional}
            family["overdue"] = False
        return put_service(
            rows, event, position, state="supplement-requested", awaiting=items, **family
        )

    @_rows.register
    def _(self, event: ServiceRequest.Supplemented, position: int, rows: Rows) -> HistoryRow:
        return put_service(
            rows, event, position, state=event.resumes, awaiting=(), due=event.due,
            due_provisional=event.provisional,
        )  # fmt: skip

    @_rows.register
    def _(self, event: ServiceRequest.Approved, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, state="approved", overdue=False)

    @_rows.register
    def _(self, event: ServiceRequest.Rejected, position: int, rows: Rows) -> HistoryRow:
        history = put_service(rows, event, position, state="rejected", overdue=False, awaiting=())
        if event.family_due is not None:
            found = rows.get(WINDOWS, history.case_id)
            due = event.family_due if found is None else max(found.due, event.family_due)
            rows.put(WINDOWS, WindowRow(history.case_id, due))
        return history

    @_rows.register
    def _(self, event: ServiceRequest.Blocked, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position, state="blocked")

    @_rows.register
    def _(self, event: ServiceRequest.Resubmitted, position: int, rows: Rows) -> HistoryRow:
        return put_service(rows, event, position)

    @_rows.register
    def _(self, event: BirthCase.Closed, position: int, rows: Rows) -> HistoryRow:
        rows.delete(WINDOWS, str(event.originator_id))
        return put_case(rows, event, position, case_of(rows, event), state="closed")

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

    @_rows.register
    def _(self, event: ServiceRequest.DeemedAccepted, position: int, rows: Rows) -> HistoryRow:
        return put_service(
            rows, event, position, state="received", due=event.due,
            due_provisional=event.provisional, overdue=False,
        )  # fmt: skip
