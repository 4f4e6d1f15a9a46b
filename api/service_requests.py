"""The clerk's workbench routes: one service request as its office sees it, and the office's
search by a case's tracking code or a parent's citizen ID (adapters/workbench.py)."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    AUTHORITIES,
    Container,
    Principal,
    citizen_id_shape,
    may_read_queue,
    request_view,
    search_requests,
    search_row,
    tracking_code_shape,
)
from api.audit import audited, audited_each
from api.auth import authenticate, out_of_scope
from api.bodies import field, json_object, unknown_fields
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

SEARCH_FIELDS = ("tracking_code", "citizen_id")
LOCALITY = re.compile(r"^[1-8]\d{5}$", re.ASCII)  # a county-level division (GB/T 2260)
OPERATIONS = [
    Operation(
        "/service-requests/{service_request_id:uuid}",
        "GET",
        "One service request as its office sees it: the data dispatched to it, the one-time "
        "notices and the family's answers (and files), the case's timeline, the due clock, "
        "who acts next and the steps this state allows the caller",
        roles=("office", "admin"),
        answer="ServiceRequestView",
        responses={
            404: "No such request for this office",
            503: "The read audit cannot record the read now",
        },
    ),
    Operation(
        "/offices/{locality}/{authority}/search",
        "POST",
        "The office's requests of a case, found by its tracking code or by a parent's "
        "citizen ID (sent in the body, never in the URL; matched by a keyed digest)",
        roles=("office", "admin"),
        body="application/json",
        request_schema="OfficeSearch",
        answer="OfficeSearchResult",
        responses={
            400: "The body is not a JSON object",
            404: "Not this office",
            422: "A locality or authority of the wrong shape in the path; not exactly one of "
            "tracking_code and citizen_id, or one of the wrong shape (full-width digits and "
            "letters are read as ASCII)",
            503: "The read audit cannot record the read now",
        },
    ),
]


async def get_request(request: Request) -> Response:
    principal = await authenticate(request, "office", "admin")
    request_id = request.path_params["service_request_id"]
    container: Container = request.app.state.container
    view = await run_in_threadpool(request_view, container, principal, request_id)
    # the e-certificates its decisions issued, signed, with their status (api/certificates.py)
    view["certificates"] = await run_in_threadpool(container.certificates.of_request, request_id)
    await audited(request, principal, "request", view["case_id"], str(request_id))
    return ORJSONResponse(view)


def search_terms(body: dict[str, Any]) -> dict[str, str]:
    """Exactly one of the two, of its shape (422 naming the field otherwise)."""
    unknown_fields(body, SEARCH_FIELDS)
    given = {name: field(body, name, str, required=False, max_length=64) for name in SEARCH_FIELDS}
    sent = {name: value for name, value in given.items() if value and value.strip()}
    if len(sent) != 1:
        raise ApiError(
            422,
            "invalid-field",
            "Give exactly one of tracking_code and citizen_id",
            field="tracking_code" if not sent else "citizen_id",
        )
    if "tracking_code" in sent:
        code = tracking_code_shape(sent["tracking_code"])
        if code is None:
            raise ApiError(
                422,
                "invalid-field",
                "A tracking code is 12 letters and digits (no I, L, O or U)",
                field="tracking_code",
            )
        return {"tracking_code": code}
    return {"citizen_id": citizen_id_shape(sent["citizen_id"])}


def office_of(path: dict[str, Any]) -> tuple[str, str]:
    """The path's (locality, authority), each of its shape (422 naming the parameter
    otherwise): an admin's search too names an office, never `..` or an unknown authority."""
    locality, authority = path["locality"], path["authority"]
    if not LOCALITY.match(locality):
        raise ApiError(
            422,
            "invalid-parameter",
            "A locality is a 6-digit GB/T 2260 code",
            parameter="locality",
        )
    if authority not in AUTHORITIES:
        raise ApiError(
            422,
            "invalid-parameter",
            f"An authority is one of {', '.join(AUTHORITIES)}",
            parameter="authority",
        )
    return locality, authority


async def search(request: Request) -> Response:
    principal = await authenticate(request, "office", "admin")
    office = office_of(request.path_params)
    if not may_read_queue(principal, *office):
        raise out_of_scope()
    terms = search_terms(await json_object(request))
    container: Container = request.app.state.container
    found = await run_in_threadpool(search_requests, container, office, **terms)
    rows = [search_row(r, office[0]) for r in found]
    await _audited(request, principal, rows)
    return ORJSONResponse({"locality": office[0], "authority": office[1], "rows": rows})


async def _audited(request: Request, principal: Principal, rows: list[dict[str, Any]]) -> None:
    """A search reads personal data even when it finds nothing (it asked about a person): a
    row per request found, or one row naming no case."""
    if not rows:
        await audited(request, principal, "search", "")
        return
    reads = [(r["case_id"], r["service_request_id"]) for r in rows]
    await audited_each(request, principal, "search", reads)


ROUTES = [
    Route("/service-requests/{service_request_id:uuid}", get_request, methods=["GET"]),
    Route("/offices/{locality}/{authority}/search", search, methods=["POST"]),
]
