"""Deliveries to registry systems: per service request, which systems got which messages."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import case_of_request, deliveries_of_request
from api.audit import audited
from api.auth import authenticate
from api.openapi import Operation
from api.responses import ORJSONResponse

PATH = "/service-requests/{service_request_id:uuid}/deliveries"
OPERATIONS = [
    Operation(
        PATH,
        "GET",
        "The request's messages to registry systems, per system: state, attempts, when "
        "delivered (an office: its own systems'; an admin: all)",
        roles=("office", "admin"),
        answer="Deliveries",
        responses={
            404: "No such request for this caller",
            503: "The read audit cannot record the read now",
        },
    ),
]


async def deliveries(request: Request) -> Response:
    principal = await authenticate(request, "office", "admin")
    request_id = request.path_params["service_request_id"]
    container = request.app.state.container
    systems = await run_in_threadpool(deliveries_of_request, container, principal, request_id)
    case_id = await run_in_threadpool(case_of_request, container, request_id)
    await audited(request, principal, "deliveries", case_id, str(request_id))
    return ORJSONResponse({"service_request_id": str(request_id), "systems": systems})


ROUTES = [Route(PATH, deliveries, methods=["GET"])]
