"""Office work queue: per locality and authority, from the office_queue projection."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import Container, delivery_warnings, may_read_queue, office_queue
from api.audit import audited
from api.auth import authenticate, out_of_scope
from api.inputs import query_number as _number
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

STATES = (
    "dispatched",
    "received",
    "supplement-requested",
    "approved",
    "rejected",
    "withdrawn",
    "correction-requested",
    "revocation-requested",
    "revoked",
)
ROLES = ("receive-for-other", "decide-here", "both")
OPERATIONS = [
    Operation(
        "/offices/{locality}/{authority}/queue",
        "GET",
        "An office's work queue: to receive, to decide, supplements awaited, overdue",
        roles=("office",),
        params=("state", "overdue", "role", "limit", "offset"),
        answer="Queue",
        responses={
            404: "Not this office's queue",
            422: "A bad query parameter",
            503: "The read audit cannot record the read now",
        },
    ),
]


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in allowed:
        raise ApiError(
            422, "invalid-parameter", f"{name} is one of {', '.join(allowed)}", parameter=name
        )
    return value


def read_queue(
    container: Container, locality: str, authority: str, request: Request
) -> dict[str, Any]:
    overdue = _choice(request, "overdue", ("true", "false"))
    page = office_queue(
        container,
        locality,
        authority,
        state=_choice(request, "state", STATES),
        overdue=None if overdue is None else overdue == "true",
        role=_choice(request, "role", ROLES),
        limit=_number(request, "limit", 50, 500),
        offset=_number(request, "offset", 0, 10**9),
    )
    return {
        "locality": locality,
        "authority": authority,
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "rows": [r.to_dict() for r in page.rows],
        # the office's registry systems with dead letters waiting or an open circuit
        "delivery_warnings": delivery_warnings(container, locality, authority),
    }


async def queue(request: Request) -> Response:
    principal = await authenticate(request, "office")
    locality, authority = request.path_params["locality"], request.path_params["authority"]
    if not may_read_queue(principal, locality, authority):
        raise out_of_scope()
    body = await run_in_threadpool(
        read_queue, request.app.state.container, locality, authority, request
    )
    if body["rows"]:  # a page of the queue: one row of the audit, no case
        await audited(request, principal, "queue", "")
    return ORJSONResponse(body)


ROUTES = [Route("/offices/{locality}/{authority}/queue", queue, methods=["GET"])]
