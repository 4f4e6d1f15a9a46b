"""Monitor routes: figures per locality and month, province-to-province flows. No personal data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    covers,
    follow_ups,
    locality_figures,
    may_see_flow,
    month_flows,
    parked_count,
)
from api.auth import authenticate, out_of_scope
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$", re.ASCII)
LOCALITY = re.compile(r"^[1-8]\d{5}$", re.ASCII)
OPERATIONS = [
    Operation(
        "/monitoring/localities/{code}",
        "GET",
        "Figures of one locality for a month: received, decided, completed, time to result, "
        "on-time rate, ratings; requests now waiting at the routing desk (locality, province)",
        roles=("monitor",),
        params=("month",),
        answer="LocalityFigures",
        responses={404: "Outside the monitor's province", 422: "Bad month or code"},
    ),
    Operation(
        "/monitoring/flows",
        "GET",
        "Birth province → hukou province counts for a month",
        roles=("monitor",),
        params=("month",),
        answer="Flows",
        responses={422: "Bad month"},
    ),
]


def month_of(request: Request) -> str:
    default = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m")
    month = request.query_params.get("month", default)
    if not MONTH.match(month):
        raise ApiError(422, "invalid-parameter", "month is YYYY-MM", parameter="month")
    return month


async def locality(request: Request) -> Response:
    principal = await authenticate(request, "monitor")
    code = request.path_params["code"]
    if not LOCALITY.match(code):
        raise ApiError(
            422, "invalid-parameter", "A locality is a 6-digit GB/T 2260 code", parameter="code"
        )
    if not covers(principal, code):
        raise out_of_scope()
    month = month_of(request)
    container = request.app.state.container
    figures = await run_in_threadpool(locality_figures, container, code, month)
    bad_ratings = await run_in_threadpool(follow_ups, container, code, month)
    parked = await run_in_threadpool(lambda: parked_count(container, locality=code))
    in_province = await run_in_threadpool(lambda: parked_count(container, desk=code[:2]))
    # No case ids: monitors see aggregates only, and the handling unit (which knows its cases)
    # makes the call-back; the monitor checks that every bad rating is followed up.
    body = figures.to_dict() | {
        "follow_ups": [{"score": f.score, "rated_at": f.rated_at} for f in bad_ratings],
        # now, not in the month: requests handled here (and in the province) that no route
        # reaches yet, waiting for a coordinator of the routing desk
        "parked": parked,
        "parked_in_province": in_province,
    }
    return ORJSONResponse(body)


async def flows(request: Request) -> Response:
    principal = await authenticate(request, "monitor")
    month = month_of(request)
    rows = await run_in_threadpool(month_flows, request.app.state.container, month)
    visible = [
        r.to_dict() for r in rows if may_see_flow(principal, r.birth_province, r.hukou_province)
    ]
    return ORJSONResponse({"month": month, "flows": visible})


ROUTES = [
    Route("/monitoring/localities/{code}", locality, methods=["GET"]),
    Route("/monitoring/flows", flows, methods=["GET"]),
]
