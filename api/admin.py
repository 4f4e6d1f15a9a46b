"""Admin routes: the events the views parked (where they are and why, never their values)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import PARKED_STATE, SKIPPED_STATE
from api.auth import authenticate
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

STATES = (PARKED_STATE, SKIPPED_STATE)
OPERATIONS = [
    Operation(
        "/admin/parked-events",
        "GET",
        "Events a view could not apply and parked, by view and position: topic, aggregate id, "
        "error class and a reason without personal data; resolved with `newborn-ledger "
        "projections retry|skip`",
        roles=("admin",),
        params=("state",),
        answer="ParkedEvents",
        responses={422: "state is not parked or skipped"},
    ),
]


async def parked_events(request: Request) -> Response:
    await authenticate(request, "admin")
    state = request.query_params.get("state")
    if state is not None and state not in STATES:
        raise ApiError(422, "invalid-parameter", "state is parked or skipped", parameter="state")
    found = await run_in_threadpool(request.app.state.container.parked, state)
    events: list[dict[str, Any]] = [
        {"view": name, **row.to_dict()} for name, rows in found.items() for row in rows
    ]
    counts = {name: sum(r.state == PARKED_STATE for r in rows) for name, rows in found.items()}
    return ORJSONResponse({"parked": counts, "events": events})


ROUTES = [Route("/admin/parked-events", parked_events, methods=["GET"])]
