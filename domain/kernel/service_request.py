"""ServiceRequest aggregate: one registration (service) of one case, routed to one office."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.kernel.disclosure import DispatchPayload
from domain.kernel.errors import InvalidTransitionError
from domain.kernel.results import Result
from domain.kernel.routing import Route
from domain.kernel.topics import stored_as
from domain.kernel.transcodings import DISPATCH_PAYLOAD, RESULT, ROUTE

ID_CACHE_SIZE = 16384  # recent deterministic ids kept (~2 MB)


class RequestState(StrEnum):
    """A request's states: stored and compared as the very strings they were before."""

    PLANNED = "planned"
    DISPATCHED = "dispatched"
    RECEIVED = "received"
    SUPPLEMENT_REQUESTED = "supplement-requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_STATES = (
    RequestState.PLANNED,
    RequestState.DISPATCHED,
    RequestState.RECEIVED,
    RequestState.SUPPLEMENT_REQUESTED,
)
FINAL_STATES = (RequestState.APPROVED, RequestState.REJECTED, RequestState.WITHDRAWN)


def _revive_route(state: dict[str, object]) -> None:
    """Version 1 stored the route as a dict (what the transcoding writes inside its mark)."""
    state["route"] = ROUTE.decode(state["route"])


@stored_as("domain.service_request")
class ServiceRequest(Aggregate):
    """One office's part of a case, in its own stream so offices never conflict.

    State: planned → dispatched → received ⇄ supplement-requested → approved | rejected;
    any open request may be withdrawn when the case is voided.
    """

    class_version = 2  # snapshots of version 1 hold the route, payload and result as dicts

    @staticmethod
    def upcast_v1_v2(state: dict[str, object]) -> None:
        _revive_route(state)
        state["payload"] = DISPATCH_PAYLOAD.decode(state["payload"])
        state["result"] = RESULT.decode(state["result"]) if state["result"] else None

    class Planned(Aggregate.Created):
        case_id: UUID
        service: str
        route: Route

        class_version = 2
        upcast_v1_v2 = staticmethod(_revive_route)

    class Replanned(Aggregate.Event):
        route: Route

        class_version = 2
        upcast_v1_v2 = staticmethod(_revive_route)

    class Dispatched(Aggregate.Event):
        payload: DispatchPayload

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["payload"] = DISPATCH_PAYLOAD.decode(state["payload"])

    class CorrectionFlagged(Aggregate.Event):
        changed: list[str]

    class Received(Aggregate.Event):
        officer: str
        receipt_number: str
        due: str
        provisional: bool

    class SupplementRequested(Aggregate.Event):
        officer: str
        items: list[str]

    class Supplemented(Aggregate.Event):
        items: list[str]
        due: str
        provisional: bool

    class Approved(Aggregate.Event):
        officer: str
        result: Result
        case_id: UUID
        service: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["result"] = RESULT.decode(state["result"])

    class Rejected(Aggregate.Event):
        officer: str
        reason: str
        basis: str
        case_id: UUID
        service: str

    class Withdrawn(Aggregate.Event):
        reason: str

    class DeadlineApproaching(Aggregate.Event):
        due: str

    class Overdue(Aggregate.Event):
        due: str

    class Delivered(Aggregate.Event):
        attempt: int

    class DeliveryFailed(Aggregate.Event):
        attempt: int
        error: str
        retry_at: str | None

    class Routed(Aggregate.Event):
        """A coordinator of the routing desk routed the request (who, and why)."""

        route: Route
        coordinator: str
        reason: str
        case_id: UUID
        service: str

    class RoutingOverdue(Aggregate.Event):
        """The routing desk's time ran out with the request still unrouted."""

        due: str

    @staticmethod
    def create_id(case_id: UUID, service: str) -> UUID:
        return _request_id(case_id, service)

    @event(Planned)
    def __init__(self, case_id: UUID, service: str, route: Route) -> None:
        self.case_id = case_id
        self.service = service
        self.route = route
        self.state = RequestState.PLANNED
        self.payload = DispatchPayload()
        self.result: Result | None = None
        self.receipt_number: str | None = None
        self.due: str | None = None
        self.warned: list[str] = []
        self.awaiting: list[str] = []
        self.delivery_attempts = 0
        self.delivered = False

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def handling_locality(self) -> str:
        return self.route.handling_locality

    @property
    def receiving_locality(self) -> str:
        return self.route.receiving_locality

    @property
    def authority(self) -> str:
        return self.route.authority

    def replan(self, route: Route) -> None:
        self._require(RequestState.PLANNED)
        if route != self.route:
            self._replanned(route=route)

    def dispatch(self, payload: DispatchPayload) -> None:
        if self.state == RequestState.DISPATCHED and payload == self.payload:
            return
        self._require(RequestState.PLANNED)
        self._dispatched(payload=payload)

    def flag_correction(self, changed: list[str]) -> None:
        """Facts this office already holds were corrected by the hospital."""
        if self.state in _HOLDING and changed:
            self._correction_flagged(changed=changed)

    def receive(self, officer: str, receipt_number: str, due: str, provisional: bool) -> None:
        if self.state == RequestState.RECEIVED and receipt_number == self.receipt_number:
            return
        self._require(RequestState.DISPATCHED)
        self._received(
            officer=officer, receipt_number=receipt_number, due=due, provisional=provisional
        )

    def request_supplement(self, officer: str, items: list[str]) -> None:
        self._require(RequestState.RECEIVED)
        if not items:
            raise InvalidTransitionError("Name every missing item in one request", items=items)
        self._supplement_requested(officer=officer, items=items)

    def supplement(self, items: list[str], due: str, provisional: bool) -> None:
        """The family answered; the office's clock starts again from now (domain ref §4.2)."""
        self._require(RequestState.SUPPLEMENT_REQUESTED)
        self._supplemented(items=items, due=due, provisional=provisional)

    def approve(self, officer: str, result: Result) -> None:
        if self.state == RequestState.APPROVED and result == self.result:
            return
        self._require(RequestState.RECEIVED)
        self._approved(officer=officer, result=result, case_id=self.case_id, service=self.service)

    def reject(self, officer: str, reason: str, basis: str) -> None:
        self._require(RequestState.RECEIVED, RequestState.SUPPLEMENT_REQUESTED)
        if not reason.strip():
            raise InvalidTransitionError("A rejection names its reason", field="reason")
        self._rejected(
            officer=officer, reason=reason, basis=basis, case_id=self.case_id, service=self.service
        )

    def withdraw(self, reason: str) -> None:
        if self.is_open:
            self._withdrawn(reason=reason)

    def warn(self, kind: str, due: str) -> None:
        """Record DeadlineApproaching or Overdue once per request and due date."""
        if self.state in _RUNNING and f"{kind}:{due}" not in self.warned:
            if kind == "approaching":
                self._deadline_approaching(due=due)
            else:
                self._overdue(due=due)

    def record_delivery(self, attempt: int, error: str | None, retry_at: str | None) -> None:
        if self.delivered or attempt <= self.delivery_attempts:
            return  # a repeated outcome of an attempt already recorded
        if error is None:
            self._delivered(attempt=attempt)
        else:
            self._delivery_failed(attempt=attempt, error=error, retry_at=retry_at)

    @property
    def parked(self) -> bool:
        """Waiting at the routing desk: planned, and no agreement or list routes it."""
        return self.state == RequestState.PLANNED and self.route.manual_routing

    def route_by_desk(self, route: Route, coordinator: str, reason: str) -> None:
        """The routing desk's route, while the request is still planned (not dispatched)."""
        waiting = self.route.manual_routing or self.route.by_desk
        if self.state != RequestState.PLANNED or not waiting:
            raise InvalidTransitionError(
                "Only a planned request waiting for manual routing is routed at the desk",
                service_request_id=str(self.id),
            )
        if not reason.strip():
            raise InvalidTransitionError("A route names its reason", field="reason")
        if route != self.route:
            self._routed(
                route=route,
                coordinator=coordinator,
                reason=reason,
                case_id=self.case_id,
                service=self.service,
            )

    def warn_routing(self, due: str) -> None:
        """Record RoutingOverdue once per due date, while the request is parked."""
        if self.parked and f"routing-overdue:{due}" not in self.warned:
            self._routing_overdue(due=due)

    def _require(self, *states: RequestState) -> None:
        if self.state not in states:
            raise InvalidTransitionError(
                f"The request is {self.state}; this step needs it {' or '.join(states)}",
                state=self.state,
                service_request_id=str(self.id),
            )

    @event(Replanned)
    def _replanned(self, route: Route) -> None:
        self.route = route

    @event(Dispatched)
    def _dispatched(self, payload: DispatchPayload) -> None:
        self.payload = payload
        self.state = RequestState.DISPATCHED

    @event(CorrectionFlagged)
    def _correction_flagged(self, changed: list[str]) -> None:
        pass

    @event(Received)
    def _received(self, officer: str, receipt_number: str, due: str, provisional: bool) -> None:
        self.receipt_number, self.due = receipt_number, due
        self.state = RequestState.RECEIVED

    @event(SupplementRequested)
    def _supplement_requested(self, officer: str, items: list[str]) -> None:
        self.awaiting = items
        self.state = RequestState.SUPPLEMENT_REQUESTED

    @event(Supplemented)
    def _supplemented(self, items: list[str], due: str, provisional: bool) -> None:
        self.due = due
        self.awaiting = []
        self.state = RequestState.RECEIVED

    @event(Approved)
    def _approved(self, officer: str, result: Result, case_id: UUID, service: str) -> None:
        self.result = result
        self.state = RequestState.APPROVED

    @event(Rejected)
    def _rejected(self, officer: str, reason: str, basis: str, case_id: UUID, service: str) -> None:
        self.state = RequestState.REJECTED

    @event(Withdrawn)
    def _withdrawn(self, reason: str) -> None:
        self.state = RequestState.WITHDRAWN

    @event(DeadlineApproaching)
    def _deadline_approaching(self, due: str) -> None:
        self.warned.append(f"approaching:{due}")

    @event(Overdue)
    def _overdue(self, due: str) -> None:
        self.warned.append(f"overdue:{due}")

    @event(Delivered)
    def _delivered(self, attempt: int) -> None:
        self.delivery_attempts, self.delivered = attempt, True

    @event(DeliveryFailed)
    def _delivery_failed(self, attempt: int, error: str, retry_at: str | None) -> None:
        self.delivery_attempts = attempt

    @event(Routed)
    def _routed(
        self, route: Route, coordinator: str, reason: str, case_id: UUID, service: str
    ) -> None:
        self.route = route

    @event(RoutingOverdue)
    def _routing_overdue(self, due: str) -> None:
        self.warned.append(f"routing-overdue:{due}")


_HOLDING = (RequestState.DISPATCHED, RequestState.RECEIVED, RequestState.SUPPLEMENT_REQUESTED)
_RUNNING = (RequestState.RECEIVED, RequestState.SUPPLEMENT_REQUESTED)


@lru_cache(maxsize=ID_CACHE_SIZE)
def _request_id(case_id: UUID, service: str) -> UUID:
    """uuid5 is ~5 µs (SHA-1 and a UUID): the worker and the projections ask for the same
    few ids of a case many times, so recent ones are kept."""
    return uuid5(case_id, service)
