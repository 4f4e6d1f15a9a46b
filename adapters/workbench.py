"""The clerk's workbench: one service request as its office sees it, and the office's search.

`request_view` gathers what an office needs to decide a request: exactly the data dispatched
to it, the one-time notices and the family's answers with their files, the case's timeline as
the office may read it, the due clock, who acts next, and the steps this state allows this
caller. `search_requests` finds the office's requests by a case's tracking code or by a
parent's citizen ID (the office_search projection's blind index: no citizen ID in clear).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import CanMutateAggregate

from adapters.bootstrap import Container
from adapters.case_reads import case_requests
from domain.births.history import history_entry
from domain.kernel.access import ACTIONS, OutOfScopeError, may_act, office_may_see
from domain.kernel.actors import Principal
from domain.kernel.errors import CaseNotFoundError, ServiceRequestNotFoundError
from domain.kernel.identifiers import citizen_id as checked_citizen_id
from domain.kernel.service_request import RequestState, ServiceRequest
from domain.ledger import TRACKING_ALPHABET, TRACKING_LENGTH
from domain.wings import service as service_definition
from projections.case_view import request_fields
from projections.office_search import parent_ids

# The steps each state allows (the aggregate's rules; who may take them: access.may_act).
STATE_ACTIONS: dict[str, tuple[str, ...]] = {
    RequestState.DISPATCHED: ("receive", "request-supplement"),
    RequestState.RECEIVED: ("request-supplement", "approve", "reject"),
    RequestState.SUPPLEMENT_REQUESTED: ("supplement", "reject"),
    RequestState.REJECTED: ("resubmit",),
    RequestState.CORRECTION_REQUESTED: ("approve-correction", "reject-correction"),
    RequestState.REVOCATION_REQUESTED: ("revoke",),
}
# What the party holding a request in each state must do (as projections/waiting.py says it)
NEXT = {
    RequestState.DISPATCHED: ("receiving", "receive (受理) or give the one-time notice"),
    RequestState.RECEIVED: ("handling", "decide"),
    RequestState.CORRECTION_REQUESTED: ("handling", "decide the correction"),
    RequestState.REVOCATION_REQUESTED: ("handling", "revoke the result"),
}
ENDED = (RequestState.APPROVED, RequestState.WITHDRAWN, RequestState.REVOKED)


def seen_request(container: Container, principal: Principal, request_id: UUID) -> ServiceRequest:
    """The request if the caller sees it (its office, or an admin); else out of scope."""
    try:
        request = container.ledger.get_request(request_id)
    except ServiceRequestNotFoundError:
        raise OutOfScopeError() from None
    if principal.role == "admin" or (
        principal.role == "office" and office_may_see(principal, request)
    ):
        return request
    raise OutOfScopeError()


def request_view(container: Container, principal: Principal, request_id: UUID) -> dict[str, Any]:
    """GET /service-requests/{id}: the request as its office sees it."""
    request = seen_request(container, principal, request_id)
    row = container.projections.office_queue_view.request(str(request.id))
    view = request_fields(request) | {
        "case_id": str(request.case_id),
        "authority": request.authority,
        "role": office_role(principal.scope if principal.role == "office" else None, request),
        "receipt_number": request.receipt_number,
        "dispatched": request.payload.to_dict(),
        "dispatched_since": getattr(request, "arrived", None),
        "new_facts": list(request.new_facts),
        "result": request.result.to_dict() if request.result else None,
        "awaiting": list(request.awaiting),
        "clock": clock(request, overdue=bool(row and row.overdue), soon=bool(row and row.due_soon)),
        "next": next_actor(principal, request),
        "actions": allowed_actions(principal, request),
    }
    view |= exchanges(container, request)
    view["documents"] = container.files.describe(request.case_id, list(request.documents))
    view["timeline"] = timeline(container, principal, request)
    return view


def office_role(here: str | None, request: ServiceRequest) -> str | None:
    """The part of the office at `here`: receives for another locality, decides here, or
    both (None: no office, an admin's read)."""
    if here is None:
        return None
    if request.receiving_locality == request.handling_locality == here:
        return "both"
    return "decide-here" if request.handling_locality == here else "receive-for-other"


def exchanges(container: Container, request: ServiceRequest) -> dict[str, Any]:
    """The one-time notices given and the answers to them, from the request's events."""
    notices, answers = [], []
    for event in container.ledger.events.get(request.id):
        if isinstance(event, ServiceRequest.SupplementRequested):
            notices.append(
                {
                    "at": event.timestamp.isoformat(),
                    "items": list(event.items),
                    "reason": event.reason,
                    "family_due": event.family_due,
                }
            )
        elif isinstance(event, ServiceRequest.Supplemented):
            answers.append(
                {
                    "at": event.timestamp.isoformat(),
                    "items": list(event.items),
                    "evidence": [dict(e) for e in event.evidence],
                }
            )
    return {"notices": notices, "supplements": answers}


def timeline(
    container: Container, principal: Principal, request: ServiceRequest
) -> list[dict[str, Any]]:
    """The case's events and this request's, oldest first, each redacted for the caller's
    role (domain/births/history.py)."""
    ledger = container.ledger
    streams = [("case", request.case_id), (request.service, request.id)]
    entries = [
        history_entry(principal.role, stream, event)
        for stream, stream_id in streams
        for event in ledger.events.get(stream_id)
        if isinstance(event, CanMutateAggregate)
    ]
    return sorted(entries, key=lambda e: e["at"])


def clock(request: ServiceRequest, *, overdue: bool, soon: bool) -> dict[str, Any]:
    """The request's due date and whose clock it is: the window's until accepted, the
    family's while a notice waits, then the handling office's."""
    whose = {
        RequestState.DISPATCHED: "receiving-window",
        RequestState.SUPPLEMENT_REQUESTED: "family",
    }.get(request.state, "handling-office")
    if request.state in ENDED or request.state in (RequestState.REJECTED,):
        whose = "none"
    return {
        "due": request.due,
        "due_provisional": bool(request.due_provisional),
        "whose": whose,
        "overdue": overdue and request.state not in ENDED,
        "due_soon": soon and request.state not in ENDED,
    }


def next_actor(principal: Principal, request: ServiceRequest) -> dict[str, Any] | None:
    """Who acts next on the request, what and by when (None: it is over); `you` is true when
    that is the caller's office."""
    state = request.state
    if state in NEXT:
        side, action = NEXT[state]
        place = request.receiving_locality if side == "receiving" else request.handling_locality
        you = principal.role == "office" and principal.scope == place
        who = f"{request.authority} {place}"
        office = {"authority": request.authority, "locality": place}
        return _next("office", who, action, request.due, you) | office
    if state == RequestState.SUPPLEMENT_REQUESTED:
        return _next("family", "family", "supplement", request.due, False)
    if state == RequestState.REJECTED and request.resubmitted_as is None:
        rejection = request.rejection
        due = rejection.family_due if rejection else None
        return _next("family", "family", "resubmit or seek a remedy", due, False)
    if state == RequestState.BLOCKED:
        blocking = request.blocking_service or ""
        return _next("office", blocking, f"decide {blocking} first", None, False)
    if state == RequestState.PLANNED:
        party = "routing-desk" if request.route.manual_routing else "ledger"
        return _next(party, party, "route and dispatch", None, False)
    return None


def _next(party: str, who: str, action: str, due: str | None, you: bool) -> dict[str, Any]:
    return {"party": party, "who": who, "action": action, "due": due, "you": you}


def allowed_actions(principal: Principal, request: ServiceRequest) -> list[dict[str, Any]]:
    """The steps this state allows that the caller may take, each with what its body needs
    (approve: the result's field, from the catalog)."""
    found = []
    for action in STATE_ACTIONS.get(request.state, ()):
        if not may_act(principal, request, action) or not _state_allows(request, action):
            continue
        entry: dict[str, Any] = {"action": action}
        if action in ("approve", "approve-correction"):
            entry["result_field"] = service_definition(request.service).result_field
        found.append(entry)
    return sorted(found, key=lambda e: ACTIONS.index(e["action"]))


def _state_allows(request: ServiceRequest, action: str) -> bool:
    """The aggregate's finer rules: one notice per reception (a second only for corrected
    facts), none once deemed accepted; a rejection resubmitted once."""
    if action == "request-supplement":
        return not request.deemed_accepted and (not request.notices or bool(request.new_facts))
    if action == "resubmit":
        return request.resubmitted_as is None
    return True


def search_requests(
    container: Container,
    office: tuple[str, str],
    *,
    tracking_code: str | None = None,
    citizen_id: str | None = None,
) -> list[ServiceRequest]:
    """The office's (locality, authority) requests of the case a tracking code names, or
    whose dispatched data names a parent's citizen ID (its current payload: an ID corrected
    away finds nothing)."""
    if tracking_code is not None:
        return _by_tracking_code(container, office, tracking_code)
    wanted = (citizen_id or "").strip().upper()
    found = []
    for request_id in container.projections.office_search_view.requests_of(wanted):
        request = container.ledger.get_request(UUID(request_id))
        if _of_office(office, request) and wanted in parent_ids(request.payload):
            found.append(request)
    return found


def _by_tracking_code(
    container: Container, office: tuple[str, str], code: str
) -> list[ServiceRequest]:
    status = container.projections.case_status_view.by_tracking_code(code.strip().upper())
    if status is None:
        return []
    try:
        case = container.ledger.get_case(UUID(status.case_id))
    except CaseNotFoundError:
        return []
    return [r for r in case_requests(container.ledger, case) if _of_office(office, r)]


def _of_office(office: tuple[str, str], request: ServiceRequest) -> bool:
    """Routed to or received by the office (access.office_may_see's rule for its scope)."""
    locality, authority = office
    return request.authority == authority and locality in (
        request.handling_locality,
        request.receiving_locality,
    )


def search_row(request: ServiceRequest, locality: str) -> dict[str, Any]:
    """A found request as the search lists it: enough to tell the family's child apart."""
    payload = request.payload
    return {
        "service_request_id": str(request.id),
        "case_id": str(request.case_id),
        "service": request.service,
        "state": request.state,
        "role": office_role(locality, request),
        "due": request.due,
        "due_provisional": bool(request.due_provisional),
        "child_name": payload.get("child_name"),
        "born_at": payload.get("born_at"),
    }


def tracking_code_shape(code: str) -> str | None:
    """The code normalised (upper case, no spaces or hyphens) if it has a tracking code's
    shape (12 letters of its alphabet), else None."""
    text = code.strip().upper().replace("-", "").replace(" ", "")
    if len(text) == TRACKING_LENGTH and set(text) <= set(TRACKING_ALPHABET):
        return text
    return None


def citizen_id_shape(value: str) -> str:
    """The citizen ID normalised, or InvalidIdentifierError naming `citizen_id`."""
    return checked_citizen_id(value)
