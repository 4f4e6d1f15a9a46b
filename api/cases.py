"""Case routes: the case view, its history and the case as it was, scoped and redacted per role."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate, CanMutateAggregate
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.bootstrap import Container
from api.auth import authenticate, out_of_scope
from api.openapi import Operation
from api.problems import ApiError
from api.redaction import history_entry
from api.responses import ORJSONResponse
from domain.births.birth_case import BirthCase
from domain.kernel.actors import Principal
from domain.kernel.errors import CaseNotFoundError
from domain.kernel.service_request import ServiceRequest
from domain.ledger import CaseLedger

CASE_ROLES = ("hospital", "office", "family")
OPERATIONS = [
    Operation(
        "/cases/{case_id:uuid}",
        "GET",
        "The case view, redacted for the caller's role; "
        "?as_of=<ISO datetime> gives the case as it was then",
        roles=(*CASE_ROLES, "admin"),
        params=("as_of",),
        answer="Case",
        responses={404: "No such case", 422: "as_of is not an ISO datetime"},
    ),
    Operation(
        "/cases/{case_id:uuid}/history",
        "GET",
        "The case's event stream, redacted per role",
        roles=(*CASE_ROLES, "admin"),
        answer="History",
        responses={404: "No such case"},
    ),
]
TRACKING_ROLES = ("hospital", "admin", "family")


def may_see(principal: Principal, case: BirthCase, requests: list[ServiceRequest]) -> bool:
    """Hospital: its facility; family: its case; office: a request routed to or received by it."""
    role, scope = principal.role, principal.scope
    if role == "admin":
        return True
    if role == "hospital":
        return case.facility_uscc == scope
    if role == "family":
        return scope == str(case.id)
    if role == "office":
        return any(office_may_see(principal, r) for r in requests)
    return False


def office_may_see(principal: Principal, request: ServiceRequest) -> bool:
    return request.authority == principal.authority and principal.scope in (
        request.handling_locality,
        request.receiving_locality,
    )


def case_requests(
    ledger: CaseLedger, case: BirthCase, as_of: datetime | None = None
) -> list[ServiceRequest]:
    found = []
    for service in case.planned_services:
        request = at_time(ledger, ServiceRequest.create_id(case.id, service), as_of)
        if isinstance(request, ServiceRequest):
            found.append(request)
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


def service_view(request: ServiceRequest) -> dict[str, Any]:
    return {
        "service": request.service,
        "service_request_id": str(request.id),
        "state": request.state,
        "handling_locality": request.handling_locality,
        "receiving_locality": request.receiving_locality,
        "mode": request.route.mode,
        "manual_routing": request.route.manual_routing,
        "due": request.due,
    }


def case_view(
    principal: Principal, case: BirthCase, requests: list[ServiceRequest]
) -> dict[str, Any]:
    visible = requests
    if principal.role == "office":
        visible = [r for r in requests if office_may_see(principal, r)]
    view: dict[str, Any] = {
        "case_id": str(case.id),
        "state": case.state,
        "services": [service_view(r) for r in visible],
    }
    if principal.role in TRACKING_ROLES:
        view["tracking_code"] = case.tracking_code
    if principal.role in ("hospital", "admin"):
        view["hospital_ref"] = case.record_ref
    if principal.role in ("family", "admin"):
        for entry, request in zip(view["services"], visible, strict=True):
            entry["result"] = request.result.to_dict() if request.result else None
            entry["awaiting"] = request.awaiting
    return view


def scoped_case(
    ledger: CaseLedger, principal: Principal, case_id: UUID, as_of: datetime | None = None
) -> tuple[BirthCase, list[ServiceRequest]]:
    try:
        current = ledger.get_case(case_id)
    except CaseNotFoundError:
        raise out_of_scope() from None
    requests = case_requests(ledger, current)
    if not may_see(principal, current, requests):
        raise out_of_scope()
    if as_of is None:
        return current, requests
    case = at_time(ledger, case_id, as_of)
    if not isinstance(case, BirthCase):
        raise ApiError(404, "not-found", "The case did not exist yet at that time")
    return case, case_requests(ledger, case, as_of)


def load_view(
    ledger: CaseLedger, principal: Principal, case_id: UUID, as_of: datetime | None = None
) -> dict[str, Any]:
    case, requests = scoped_case(ledger, principal, case_id, as_of)
    view = case_view(principal, case, requests)
    if as_of is not None:
        view["as_of"] = as_of.isoformat()
    return view


def family_extras(container: Container, case_id: UUID) -> dict[str, Any]:
    """What the family must do next and the timeline, from the case_status projection."""
    status = container.projections.case_status_view.by_case_id(case_id)
    if status is None:
        return {}
    history = [{"event": h.event, "at": h.at} for h in status.history]
    for service in status.services:
        history += [
            {"service": service.service, "event": h.event, "at": h.at} for h in service.history
        ]
    return {"next_action": status.next_action, "timeline": sorted(history, key=lambda h: h["at"])}


def parse_as_of(request: Request) -> datetime | None:
    raw = request.query_params.get("as_of")
    if raw is None:
        return None
    # An unencoded "+" in a query string arrives as a space: "…T09:00:00 08:00" meant "+08:00".
    text = re.sub(r"(T[0-9:.]+) (\d{2}(?::?\d{2})?)$", r"\1+\2", raw.strip())
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            422,
            "invalid-parameter",
            "as_of is an ISO 8601 date-time, e.g. 2026-11-21T09:00:00+08:00",
            parameter="as_of",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_case(
    container: Container, principal: Principal, case_id: UUID, as_of: datetime | None
) -> dict[str, Any]:
    view = load_view(container.ledger, principal, case_id, as_of)
    if principal.role in ("family", "admin") and as_of is None:
        view |= family_extras(container, case_id)
    return view


async def family_document(container: Container, principal: Principal, case_id: UUID) -> bytes:
    """The family's own case, pre-rendered by the case_status projection: one keyed read.
    Until the projection has the case (it lags by at most a tick) it is replayed instead."""
    if principal.scope != str(case_id):
        raise out_of_scope()
    document = await container.documents.read(principal.scope)
    if document is None:
        view = await run_in_threadpool(read_case, container, principal, case_id, None)
        return orjson.dumps(view, option=orjson.OPT_NON_STR_KEYS)
    return document


async def get_case(request: Request) -> Response:
    principal = await authenticate(request, *CASE_ROLES)
    as_of = parse_as_of(request)
    container, case_id = request.app.state.container, request.path_params["case_id"]
    if principal.role == "family" and as_of is None:
        body = await family_document(container, principal, case_id)
        return Response(body, media_type=ORJSONResponse.media_type)
    view = await run_in_threadpool(read_case, container, principal, case_id, as_of)
    return ORJSONResponse(view)


def read_history(ledger: CaseLedger, principal: Principal, case_id: UUID) -> list[dict[str, Any]]:
    case, requests = scoped_case(ledger, principal, case_id)
    streams: list[tuple[str, UUID]] = [("case", case.id)]
    streams += [
        (r.service, r.id)
        for r in requests
        if principal.role != "office" or office_may_see(principal, r)
    ]
    entries = [
        history_entry(principal.role, stream, event)
        for stream, stream_id in streams
        for event in ledger.events.get(stream_id)
        if isinstance(event, CanMutateAggregate)
    ]
    return sorted(entries, key=lambda e: e["at"])


async def get_history(request: Request) -> Response:
    principal = await authenticate(request, *CASE_ROLES)
    entries = await run_in_threadpool(
        read_history, request.app.state.container.ledger, principal, request.path_params["case_id"]
    )
    return ORJSONResponse({"case_id": str(request.path_params["case_id"]), "events": entries})


ROUTES = [
    Route("/cases/{case_id:uuid}", get_case, methods=["GET"]),
    Route("/cases/{case_id:uuid}/history", get_history, methods=["GET"]),
]
