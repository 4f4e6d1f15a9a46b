"""Case routes: the case view, scoped and redacted per role."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import authenticate, out_of_scope
from api.openapi import Operation
from api.responses import ORJSONResponse
from domain.actors import Principal
from domain.birth_case import BirthCase
from domain.errors import CaseNotFoundError
from domain.ledger import CaseLedger
from domain.service_request import ServiceRequest

OPERATIONS = [
    Operation(
        "/cases/{case_id:uuid}",
        "GET",
        "The case view, redacted for the caller's role",
        roles=("hospital", "office", "family", "admin"),
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


def case_requests(ledger: CaseLedger, case: BirthCase) -> list[ServiceRequest]:
    ids = [ServiceRequest.create_id(case.id, s) for s in case.planned_services]
    return [ledger.get_request(i) for i in ids]


def service_view(request: ServiceRequest) -> dict[str, Any]:
    return {
        "service": request.service,
        "service_request_id": str(request.id),
        "state": request.state,
        "handling_locality": request.handling_locality,
        "receiving_locality": request.receiving_locality,
        "mode": request.route.get("mode"),
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
    return view


def load_view(ledger: CaseLedger, principal: Principal, case_id: UUID) -> dict[str, Any]:
    try:
        case = ledger.get_case(case_id)
    except CaseNotFoundError:
        raise out_of_scope() from None
    requests = case_requests(ledger, case)
    if not may_see(principal, case, requests):
        raise out_of_scope()
    return case_view(principal, case, requests)


async def get_case(request: Request) -> Response:
    principal = await authenticate(request, "hospital", "office", "family")
    ledger = request.app.state.container.ledger
    view = await run_in_threadpool(load_view, ledger, principal, request.path_params["case_id"])
    return ORJSONResponse(view)


ROUTES = [Route("/cases/{case_id:uuid}", get_case, methods=["GET"])]
