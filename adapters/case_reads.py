"""Reading a case for a caller: the case and its requests as they are or as they were, scoped
by the domain's access rules, and the view of it (projections/case_view.py renders it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate, CanMutateAggregate

from domain.births.birth_case import BirthCase
from domain.births.history import history_entry
from domain.kernel.access import (
    RECORD_REF_ROLES,
    CaseNotYetError,
    OutOfScopeError,
    may_see,
    visible_requests,
)
from domain.kernel.actors import Principal
from domain.kernel.errors import CaseNotFoundError
from domain.kernel.remote_window import REMOTE_WINDOW, RemoteWindowSession, session_entry
from domain.kernel.service_request import ServiceRequest
from domain.ledger import CaseLedger
from projections.case_view import replayed_view


def case_requests(
    ledger: CaseLedger, case: BirthCase, as_of: datetime | None = None
) -> list[ServiceRequest]:
    """Each planned service's request, followed by its resubmissions (at `as_of`)."""
    found = []
    for service in case.planned_services:
        request = at_time(ledger, ServiceRequest.create_id(case.id, service), as_of)
        while isinstance(request, ServiceRequest):
            found.append(request)
            following = request.resubmitted_as
            request = None if following is None else at_time(ledger, following, as_of)
    return found


def at_time(ledger: CaseLedger, aggregate_id: UUID, as_of: datetime | None) -> Aggregate | None:
    """The aggregate as it was at `as_of` (its latest state when None); None if not yet there."""
    if as_of is None:
        aggregate: Aggregate = ledger.repository.get(aggregate_id)
        return aggregate
    until = []  # the stream is read once and replayed up to the moment, not read again
    for event in ledger.events.get(aggregate_id):
        assert isinstance(event, CanMutateAggregate)
        if event.timestamp > as_of:
            break
        until.append(event)
    past: Aggregate | None = project_aggregate(None, until)
    return past


def scoped_case(
    ledger: CaseLedger, principal: Principal, case_id: UUID, as_of: datetime | None = None
) -> tuple[BirthCase, list[ServiceRequest]]:
    """The case and its requests (at `as_of`) if the caller may see the case as it is now;
    OutOfScopeError when it may not (or there is no such case), CaseNotYetError when the case
    did not exist yet at `as_of`."""
    try:
        current = ledger.get_case(case_id)
    except CaseNotFoundError:
        raise OutOfScopeError() from None
    requests = case_requests(ledger, current)
    if not may_see(principal, current, requests):
        raise OutOfScopeError()
    if as_of is None:
        return current, requests
    case = at_time(ledger, case_id, as_of)
    if not isinstance(case, BirthCase):
        raise CaseNotYetError()
    return case, case_requests(ledger, case, as_of)


def load_view(
    ledger: CaseLedger, principal: Principal, case_id: UUID, as_of: datetime | None = None
) -> dict[str, Any]:
    """The case view replayed from the events (at `as_of`, which the view then names)."""
    case, requests = scoped_case(ledger, principal, case_id, as_of)
    if as_of is None:
        return replayed_view(principal, case, requests)
    return replayed_view(principal, case, requests, as_of=as_of.isoformat())


def history_streams(
    ledger: CaseLedger, principal: Principal, case_id: UUID
) -> list[tuple[str, CanMutateAggregate[Any]]]:
    """The case's events and those of the requests the caller sees: (stream, event), by stream."""
    case, requests = scoped_case(ledger, principal, case_id)
    seen = visible_requests(principal, requests)
    streams: list[tuple[str, UUID]] = [("case", case.id)]
    streams += [(r.service, r.id) for r in seen]
    return [
        (stream, event)
        for stream, stream_id in streams
        for event in ledger.events.get(stream_id)
        if isinstance(event, CanMutateAggregate)
    ] + session_streams(ledger, seen)


def session_streams(
    ledger: CaseLedger, requests: list[ServiceRequest]
) -> list[tuple[str, CanMutateAggregate[Any]]]:
    """The remote window sessions' events of these requests (only a request received for
    another locality has any), as (stream, event); the stream is "remote-window:<service>"."""
    found: list[tuple[str, CanMutateAggregate[Any]]] = []
    for request in requests:
        if request.receiving_locality == request.handling_locality:
            continue
        for session in ledger.sessions_of(request.id):
            stream = f"{REMOTE_WINDOW}:{session.service}"
            events = ledger.events.get(session.id)
            found += [(stream, e) for e in events if isinstance(e, CanMutateAggregate)]
    return found


def case_history_entry(role: str, stream: str, event: CanMutateAggregate[Any]) -> dict[str, Any]:
    """One event of a case's history as `role` may read it: a remote window session's by the
    kernel's rules, the case's and its requests' by the wing's."""
    if type(event).__qualname__.startswith(RemoteWindowSession.__qualname__ + "."):
        return session_entry(role, stream, event)
    return history_entry(role, stream, event)


def siblings_view(
    ledger: CaseLedger, principal: Principal, multiple_birth: int | None, others: list[str]
) -> dict[str, Any]:
    """A child's delivery as the caller may see it: the other cases born in it that the
    caller may see (an office only those it works on; a family the case ids of its other
    children; the hospital and an admin also their record keys), nothing else of them."""
    siblings: list[dict[str, Any]] = []
    for other in others:
        try:
            case, requests = scoped_case(ledger, principal, UUID(other))
        except OutOfScopeError:
            if principal.role != "family":
                continue
            siblings.append({"case_id": other})  # the same mother's child: its id only
            continue
        entry: dict[str, Any] = {"case_id": other}
        if principal.role in RECORD_REF_ROLES:
            entry["hospital_ref"] = case.record_ref
        if principal.role == "office":
            entry["services"] = [r.service for r in visible_requests(principal, requests)]
        siblings.append(entry)
    return {"multiple_birth": multiple_birth, "siblings": siblings}
