"""office_queue: each office's work, per (locality, authority): to receive, to decide, overdue."""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any

from domain.kernel.service_request import ServiceRequest
from domain.wings import kind_of_service
from engine.memory import InMemoryTables
from engine.rows import Rows, Table, changed, make, require
from engine.view import TableProjection, TableView
from projections.events import route_fields, stamp, topics_of

ROLES = ("receive-for-other", "decide-here", "both")
OPEN = ("dispatched", "received", "supplement-requested")  # the office's work still to do
# decided, and asked again: work for the deciding office only (not a window receiving for it)
ASKED_AGAIN = ("correction-requested", "revocation-requested")
NO_DUE = "9999-12-31"  # sorts requests without a due date last, on every backend
FINAL_STATES = ("approved", "rejected", "withdrawn", "revoked")


@dataclass(frozen=True)
class RequestRow:
    """One service request: its route and state (the source of its queue entries)."""

    service_request_id: str
    case_id: str
    service: str
    authority: str
    handling_locality: str
    receiving_locality: str
    mode: str | None
    manual_routing: bool
    state: str
    due: str | None  # the receiving window's while dispatched, then the handling office's
    due_provisional: bool  # counted over a year whose holidays are not published yet
    overdue: bool  # an Overdue event was recorded and the request is still open
    due_soon: bool  # a DeadlineApproaching event was recorded and the request is still open
    since: str  # when it was planned
    updated_at: str


SHOWN = (
    "service_request_id",
    "case_id",
    "kind",
    "service",
    "state",
    "role",
    "due",
    "due_provisional",
    "overdue",
    "due_soon",
)


@dataclass(frozen=True)
class QueueRow:
    """A request as one office sees it: received here for another locality, to decide here,
    or both (the same locality receives and decides)."""

    locality: str
    authority: str
    service_request_id: str
    case_id: str
    service: str
    state: str
    role: str
    handling_locality: str
    receiving_locality: str
    mode: str | None
    due: str | None
    due_provisional: bool
    due_sort: str
    overdue: bool
    due_soon: bool
    visible: bool  # open work of the office: dispatched to it and not yet decided (`OPEN`),
    # or decided and asked again to decide a correction or revoke (`ASKED_AGAIN`)
    since: str
    updated_at: str

    @property
    def kind(self) -> str:
        """The kind of case (its wing: "birth", …), from the service: one office's queue
        holds the requests of every wing it serves."""
        return kind_of_service(self.service)

    def to_dict(self) -> dict[str, Any]:
        """What the queue page shows of the row (flat values: no deep copy needed)."""
        return {name: getattr(self, name) for name in SHOWN}


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[QueueRow, ...]
    total: int
    limit: int
    offset: int


# the deadline job reads the received requests not yet marked overdue in due order, a page
# after the other (adapters/bootstrap.py)
REQUESTS = Table(
    "requests",
    RequestRow,
    ("service_request_id",),
    indexes=[("state", "overdue", "due", "service_request_id")],
)
ORDER = ("due_sort", "since", "service_request_id")
# a queue page is a range of one of these, read in ORDER: its cost follows the page and the
# office's open work, not the requests it decided over the years
QUEUE = Table(
    "entries",
    QueueRow,
    ("locality", "service_request_id"),
    indexes=[
        ("locality", "authority", "visible", *ORDER),
        ("locality", "authority", "state", *ORDER),
    ],
)


def entries(request: RequestRow) -> list[QueueRow]:
    """The queue rows of a request: one per locality that acts on it."""
    receiving, handling = request.receiving_locality, request.handling_locality
    if receiving == handling:
        return [_entry(request, receiving, "both")]
    return [
        _entry(request, receiving, "receive-for-other"),
        _entry(request, handling, "decide-here"),
    ]


def _entry(request: RequestRow, locality: str, role: str) -> QueueRow:
    """The queue row of `request` at `locality` (made once or twice per request event: its
    fields given in QueueRow's order, without the frozen dataclass `__init__`)."""
    due = request.due
    return make(
        QueueRow,
        {
            "locality": locality,
            "authority": request.authority,
            "service_request_id": request.service_request_id,
            "case_id": request.case_id,
            "service": request.service,
            "state": request.state,
            "role": role,
            "handling_locality": request.handling_locality,
            "receiving_locality": request.receiving_locality,
            "mode": request.mode,
            "due": due,
            "due_provisional": request.due_provisional,
            "due_sort": due or NO_DUE,
            "overdue": request.overdue,
            "due_soon": request.due_soon,
            "visible": request.state in OPEN
            or (request.state in ASKED_AGAIN and role != "receive-for-other"),
            "since": request.since,
            "updated_at": request.updated_at,
        },
    )


class OfficeQueueView(TableView, ABC):
    """Per (locality, authority): the requests it receives for others and those it decides."""

    name = "office_queue"
    tables = (REQUESTS, QUEUE)

    def queue(
        self,
        locality: str,
        authority: str,
        *,
        state: str | None = None,
        overdue: bool | None = None,
        role: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> QueuePage:
        """Due first; without `state`, the office's open work (`OPEN`): what it decided or
        what was withdrawn is found by its state."""
        where: dict[str, object] = {"locality": locality, "authority": authority}
        where |= {"visible": True} if state is None else {"state": state}
        if overdue is not None:
            where["overdue"] = overdue
        if role is not None:
            where["role"] = role
        rows = self.select(QUEUE, where, order_by=ORDER, limit=limit, offset=offset)
        return QueuePage(tuple(rows), self.count(QUEUE, where), limit, offset)

    def request(self, service_request_id: str) -> RequestRow | None:
        return self.get(REQUESTS, service_request_id)


class InMemoryOfficeQueue(InMemoryTables, OfficeQueueView):
    """office_queue in memory, for unit tests."""


class OfficeQueueProjection(TableProjection[OfficeQueueView]):
    """Keeps every office's queue: each request event rewrites the request's one or two entries
    (a replan that moves the request takes it out of the old offices' queues)."""

    name = "office_queue"
    topics = topics_of(
        ServiceRequest.Planned,
        ServiceRequest.Replanned,
        ServiceRequest.Dispatched,
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
        ServiceRequest.CorrectionRequested,
        ServiceRequest.CorrectionApproved,
        ServiceRequest.CorrectionRejected,
        ServiceRequest.CorrectionWithdrawn,
        ServiceRequest.RevocationRequested,
        ServiceRequest.Revoked,
    )

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Other request events do not change a queue."""

    @apply.register
    def _(self, event: ServiceRequest.Planned, position: int, rows: Rows) -> None:
        at = stamp(event)
        request = RequestRow(
            service_request_id=str(event.originator_id),
            case_id=str(event.case_id),
            service=event.service,
            state="planned",
            due=None,
            due_provisional=False,
            overdue=False,
            due_soon=False,
            since=at,
            updated_at=at,
            **route_fields(event.route),
        )
        _save(rows, None, request)

    @apply.register
    def _(self, event: ServiceRequest.Replanned, position: int, rows: Rows) -> None:
        _change(rows, event, **route_fields(event.route))

    @apply.register
    def _(self, event: ServiceRequest.Routed, position: int, rows: Rows) -> None:
        _change(rows, event, **route_fields(event.route))

    @apply.register
    def _(self, event: ServiceRequest.Dispatched, position: int, rows: Rows) -> None:
        _change(rows, event, state="dispatched", **_clock(event))  # the window's clock

    @apply.register
    def _(self, event: ServiceRequest.Received, position: int, rows: Rows) -> None:
        _change(rows, event, state="received", **_clock(event))

    @apply.register
    def _(self, event: ServiceRequest.SupplementRequested, position: int, rows: Rows) -> None:
        # the family's window runs: the request is due when the family must answer
        family = {} if event.family_due is None else _family_clock(event)
        _change(rows, event, state="supplement-requested", **family)

    @apply.register
    def _(self, event: ServiceRequest.Supplemented, position: int, rows: Rows) -> None:
        # the clock starts again from the supplement: not late, not yet due soon
        _change(rows, event, state=event.resumes, **_clock(event))

    @apply.register
    def _(self, event: ServiceRequest.Approved, position: int, rows: Rows) -> None:
        _change(rows, event, state="approved")

    @apply.register
    def _(self, event: ServiceRequest.Rejected, position: int, rows: Rows) -> None:
        _change(rows, event, state="rejected")

    @apply.register
    def _(self, event: ServiceRequest.Withdrawn, position: int, rows: Rows) -> None:
        _change(rows, event, state="withdrawn")

    @apply.register
    def _(self, event: ServiceRequest.DeadlineApproaching, position: int, rows: Rows) -> None:
        _change(rows, event, due_soon=True)

    @apply.register
    def _(self, event: ServiceRequest.Overdue, position: int, rows: Rows) -> None:
        _change(rows, event, overdue=True)

    @apply.register
    def _(self, event: ServiceRequest.DeemedAccepted, position: int, rows: Rows) -> None:
        _change(rows, event, state="received", **_clock(event))

    @apply.register
    def _(self, event: ServiceRequest.CorrectionRequested, position: int, rows: Rows) -> None:
        _change(rows, event, state="correction-requested", **_clock(event))

    @apply.register
    def _(self, event: ServiceRequest.CorrectionApproved, position: int, rows: Rows) -> None:
        _change(rows, event, state="approved")

    @apply.register
    def _(self, event: ServiceRequest.CorrectionRejected, position: int, rows: Rows) -> None:
        _change(rows, event, state="approved")

    @apply.register
    def _(self, event: ServiceRequest.CorrectionWithdrawn, position: int, rows: Rows) -> None:
        _change(rows, event, state="approved")

    @apply.register
    def _(self, event: ServiceRequest.RevocationRequested, position: int, rows: Rows) -> None:
        _change(rows, event, state="revocation-requested", **_clock(event))

    @apply.register
    def _(self, event: ServiceRequest.Revoked, position: int, rows: Rows) -> None:
        _change(rows, event, state="revoked")


def _clock(event: Any) -> dict[str, Any]:
    """A new due date: not late, not yet due soon."""
    return {
        "due": event.due,
        "due_provisional": event.provisional,
        "overdue": False,
        "due_soon": False,
    }


def _family_clock(event: ServiceRequest.SupplementRequested) -> dict[str, Any]:
    """The family's window to answer the one-time notice: not late, not yet due soon."""
    return {
        "due": event.family_due,
        "due_provisional": event.family_due_provisional,
        "overdue": False,
        "due_soon": False,
    }


def _change(rows: Rows, event: Any, **changes: Any) -> None:
    request_id = str(event.originator_id)
    old = require(rows.get(REQUESTS, request_id), "service request", request_id)
    changes["updated_at"] = stamp(event)
    if changes.get("state", old.state) in FINAL_STATES:  # no longer late or due soon
        changes["overdue"] = changes["due_soon"] = False
    _save(rows, old, changed(old, **changes))


def _save(rows: Rows, old: RequestRow | None, new: RequestRow) -> None:
    rows.put(REQUESTS, new)
    made = entries(new)
    if old is not None and (old.receiving_locality, old.handling_locality) != (
        new.receiving_locality,
        new.handling_locality,
    ):  # a replan moved it: out of the old offices' queues it left
        kept = {e.locality for e in made}
        for entry in entries(old):
            if entry.locality not in kept:
                rows.delete(QUEUE, entry.locality, entry.service_request_id)
    for entry in made:
        rows.put(QUEUE, entry)
