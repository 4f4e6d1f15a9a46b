"""The routing desk: requests no agreement or national list routes, and the coordinator's
route for each (GET /routing-desk, POST /service-requests/{id}/route)."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    Container,
    Principal,
    RouteRequest,
    desk_days,
    may_see_desk,
    request_fields,
    route_request,
    routing_desk,
)
from api.auth import authenticate, out_of_scope
from api.bodies import json_object, required_str, unknown_fields
from api.inputs import query_number as _number
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

SCOPE = re.compile(r"^([1-8]\d|national)$", re.ASCII)
MAX_REASON = 500
OPERATIONS = [
    Operation(
        "/routing-desk",
        "GET",
        "A routing desk: requests waiting for a coordinator's route, due first, with the "
        "due date in working days and an overdue flag",
        roles=("coordinator",),
        params=("scope", "limit", "offset"),
        answer="RoutingDesk",
        responses={404: "Not this coordinator's desk", 422: "A bad query parameter"},
    ),
    Operation(
        "/service-requests/{service_request_id:uuid}/route",
        "POST",
        "Route a request waiting at the routing desk (handling and receiving locality, mode, "
        "reason); it is then dispatched as usual",
        roles=("coordinator",),
        body="application/json",
        request_schema="RouteRequest",
        answer="ServiceRequest",
        responses={
            404: "No such request on this coordinator's desk",
            409: "The request is not waiting for manual routing",
            422: "Invalid body, division code, mode or place",
        },
    ),
]


def _scope(request: Request, principal: Principal) -> str:
    """The desk asked for: a coordinator's own when not given (an admin must name one)."""
    scope = request.query_params.get("scope")
    if scope is None and principal.role == "coordinator":
        scope = principal.scope
    if scope is None or not SCOPE.match(scope):
        raise ApiError(
            422,
            "invalid-parameter",
            "scope is a 2-digit province code or 'national'",
            parameter="scope",
        )
    return scope


def read_desk(container: Container, scope: str, limit: int, offset: int) -> dict[str, Any]:
    page, today = routing_desk(container, scope, limit=limit, offset=offset)
    rows = [
        {
            "service_request_id": r.service_request_id,
            "case_id": r.case_id,  # a reference, no personal data
            "service": r.service,
            "authority": r.authority,
            "desk": r.desk,
            "handling_locality": r.handling_locality,
            "family_locality": r.family_locality,
            "route_note": r.route_note,
            "parked_since": r.parked_since,
            "due": r.due,
            "due_provisional": r.due_provisional,
            "overdue": r.overdue or r.due < today.isoformat(),
        }
        for r in page.rows
    ]
    return {
        "scope": scope,
        "today": today.isoformat(),
        "time_limit_days": desk_days(),
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "rows": rows,
    }


async def desk(request: Request) -> Response:
    principal = await authenticate(request, "coordinator")
    scope = _scope(request, principal)
    if not may_see_desk(principal, scope):
        raise out_of_scope()
    limit = _number(request, "limit", 50, 500)
    offset = _number(request, "offset", 0, 10**9)
    container = request.app.state.container
    body = await run_in_threadpool(read_desk, container, scope, limit, offset)
    return ORJSONResponse(body)


def _command(request_id: UUID, principal: Principal, body: dict[str, Any]) -> RouteRequest:
    unknown_fields(body, ("handling_locality", "receiving_locality", "mode", "reason"))
    return RouteRequest(
        request_id,
        f"{principal.role}:{principal.actor_id}",
        required_str(body, "handling_locality", max_length=6),
        required_str(body, "receiving_locality", max_length=6),
        required_str(body, "mode", max_length=16),
        required_str(body, "reason", max_length=MAX_REASON),
    )


async def route(request: Request) -> Response:
    principal = await authenticate(request, "coordinator")
    body = await json_object(request)
    cmd = _command(request.path_params["service_request_id"], principal, body)
    container = request.app.state.container
    routed = await run_in_threadpool(route_request, container.ledger, principal, cmd)
    await run_in_threadpool(container.after_command)
    return ORJSONResponse(request_fields(routed))


ROUTES = [
    Route("/routing-desk", desk, methods=["GET"]),
    Route("/service-requests/{service_request_id:uuid}/route", route, methods=["POST"]),
]
