"""routing_desk: the requests waiting for a coordinator, per province desk (and national).

A request is parked while it is planned and no alliance agreement or national list entry
routes it (its route says manual routing); it leaves the desk when a coordinator routes it,
a revised plan routes it, or it is withdrawn. Its due date counts the desk's working days
(reference data: domain/kernel/reference/national_list.json) from the day it was parked.
No personal data: services, places, the route note and the case id.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import asdict, dataclass
from functools import singledispatchmethod
from typing import Any

from domain.kernel.routing import Route
from domain.kernel.routing_desk import NATIONAL, desk_due, desk_of
from domain.kernel.service_request import ServiceRequest
from domain.wings import national_list
from engine.memory import InMemoryTables
from engine.rows import Rows, Table, changed
from engine.view import TableProjection, TableView
from projections.events import cst_date, stamp, topics_of


@dataclass(frozen=True)
class DeskRow:
    """One request at the routing desk."""

    service_request_id: str
    case_id: str
    service: str
    authority: str
    desk: str  # the province of the handling locality
    handling_locality: str
    family_locality: str  # where the family stands (the planned receiving place)
    route_note: str
    parked_since: str
    due: str
    due_provisional: bool
    overdue: bool  # a RoutingOverdue event was recorded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RequestRow:
    """Which case and service a request is of (a replan that parks it names neither)."""

    service_request_id: str
    case_id: str
    service: str


ORDER = ("due", "parked_since", "service_request_id")
REQUESTS = Table("requests", RequestRow, ("service_request_id",))
WAITING = Table(
    "waiting",
    DeskRow,
    ("service_request_id",),
    indexes=[("desk", *ORDER), ("overdue", *ORDER), ("handling_locality",)],
)


@dataclass(frozen=True)
class DeskPage:
    rows: tuple[DeskRow, ...]
    total: int
    limit: int
    offset: int


class RoutingDeskView(TableView, ABC):
    """The parked requests of a province desk, or of every desk (the national one)."""

    name = "routing_desk"
    tables = (WAITING, REQUESTS)

    def desk(self, scope: str, *, limit: int = 50, offset: int = 0) -> DeskPage:
        """Due first."""
        where: dict[str, object] = {} if scope == NATIONAL else {"desk": scope}
        rows = self.select(WAITING, where, order_by=ORDER, limit=limit, offset=offset)
        return DeskPage(tuple(rows), self.count(WAITING, where), limit, offset)

    def waiting(self, *, desk: str | None = None, handling_locality: str | None = None) -> int:
        """How many requests are parked: at a desk, for a handling locality, or in all."""
        where: dict[str, object] = {}
        if desk is not None and desk != NATIONAL:
            where["desk"] = desk
        if handling_locality is not None:
            where["handling_locality"] = handling_locality
        return self.count(WAITING, where)

    def request(self, service_request_id: str) -> DeskRow | None:
        return self.get(WAITING, service_request_id)


class InMemoryRoutingDesk(InMemoryTables, RoutingDeskView):
    """routing_desk in memory, for unit tests."""


class RoutingDeskProjection(TableProjection[RoutingDeskView]):
    """Keeps the desks: a route needing manual routing parks its request, any other route
    (the desk's, or a revised plan's) and a withdrawal take it off."""

    name = "routing_desk"
    topics = topics_of(
        ServiceRequest.Planned,
        ServiceRequest.Replanned,
        ServiceRequest.Routed,
        ServiceRequest.Withdrawn,
        ServiceRequest.RoutingOverdue,
    )

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Other events do not change a desk."""

    @apply.register
    def _(self, event: ServiceRequest.Planned, position: int, rows: Rows) -> None:
        request = RequestRow(str(event.originator_id), str(event.case_id), event.service)
        rows.put(REQUESTS, request)
        _routed(rows, event, event.route, request)

    @apply.register
    def _(self, event: ServiceRequest.Replanned, position: int, rows: Rows) -> None:
        request = rows.get(REQUESTS, str(event.originator_id))
        if request is not None:
            _routed(rows, event, event.route, request)

    @apply.register
    def _(self, event: ServiceRequest.Routed, position: int, rows: Rows) -> None:
        request = RequestRow(str(event.originator_id), str(event.case_id), event.service)
        _routed(rows, event, event.route, request)

    @apply.register
    def _(self, event: ServiceRequest.Withdrawn, position: int, rows: Rows) -> None:
        if rows.get(WAITING, str(event.originator_id)) is not None:
            rows.delete(WAITING, str(event.originator_id))

    @apply.register
    def _(self, event: ServiceRequest.RoutingOverdue, position: int, rows: Rows) -> None:
        row = rows.get(WAITING, str(event.originator_id))
        if row is not None:
            rows.put(WAITING, changed(row, overdue=True))


def _routed(rows: Rows, event: Any, route: Route, request: RequestRow) -> None:
    """Park the request when its route needs manual routing (since the first such event),
    else take it off its desk."""
    request_id = request.service_request_id
    old = rows.get(WAITING, request_id)
    if not route.manual_routing:
        if old is not None:
            rows.delete(WAITING, request_id)
        return
    since = old.parked_since if old is not None else stamp(event)
    due = desk_due(cst_date(since), national_list().desk_days)
    planned = route.planned
    rows.put(
        WAITING,
        DeskRow(
            service_request_id=request_id,
            case_id=request.case_id,
            service=request.service,
            authority=planned.authority,
            desk=desk_of(planned.handling_locality),
            handling_locality=planned.handling_locality,
            family_locality=planned.receiving_locality,
            route_note=planned.route_note,
            parked_since=since,
            due=due.date.isoformat(),
            due_provisional=due.provisional,
            overdue=old.overdue if old is not None else False,
        ),
    )
