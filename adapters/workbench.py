"""The clerk's workbench: one service request as its office sees it.

`request_view` gathers what an office needs to decide a request: exactly the data dispatched
to it, the one-time notices and the family's answers with their files, a correction or a
revocation asked of it after its decision, the case's timeline as the office may read it, the
due clock, who acts next, and the steps this state allows this caller. The office's search is
adapters/workbench_search.py.
"""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import CanMutateAggregate

from adapters.bootstrap import Container
from adapters.case_reads import case_history_entry, session_streams
from adapters.remote_windows import request_sessions
from domain.kernel.access import ACTIONS, OutOfScopeError, may_act, office_may_see
from domain.kernel.actors import Principal
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.errors import ServiceRequestNotFoundError
from domain.kernel.materials import MaterialsCatalog, request_materials
from domain.kernel.remote_window import REMOTE_WINDOW
from domain.kernel.service_request import HOLDING, RequestState, ServiceRequest
from domain.wings import catalog_of
from domain.wings import materials_of as wing_materials
from domain.wings import service as service_definition
from projections.case_view import request_fields

E = TypeVar("E")

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
# no office clock runs: not dispatched yet, behind another request, or the family's to resubmit
WAITING = (RequestState.PLANNED, RequestState.BLOCKED, RequestState.REJECTED)


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
    here = principal.scope if principal.role == "office" else None
    open_case = _case_open(container, request)
    events = list(container.ledger.events.get(request.id))
    windows = request_sessions(container.ledger, principal, request)
    view = request_fields(request) | {
        "case_id": str(request.case_id),
        "authority": request.authority,
        "role": office_role(here, request),
        "receipt_number": request.receipt_number,
        "dispatched": request.payload.to_dict(),
        "dispatched_since": getattr(request, "arrived", None),
        "new_facts": list(request.new_facts),
        "result": request.result.to_dict() if request.result else None,
        "awaiting": list(request.awaiting),
        "clock": clock(request, overdue=bool(row and row.overdue), soon=bool(row and row.due_soon)),
        "next": behind(container, request)
        or window_next(principal, request, windows)
        or next_actor(principal, request, open_case),
        "actions": allowed_actions(principal, request, open_case),
        "remote_window": windows,
    }
    documents = container.files.describe(request.case_id, list(request.documents))
    exchanged = exchanges(events)
    return (
        view
        | exchanged
        | asked_after_decision(request, events)
        | {
            "documents": documents,
            "materials": materials_of(request, exchanged),
            "timeline": timeline(container, principal, request),
        }
    )


NO_MATERIALS = MaterialsCatalog("none", ())  # a wing without materials lists


def materials_of(request: ServiceRequest, exchanged: dict[str, Any]) -> dict[str, Any]:
    """The request's materials: what sharing satisfied (the data dispatched to the office,
    by field name), what the family supplied (its application's answers, the documents it
    presents, its answers to one-time notices, counted by what each notice asked: `exchanged`
    holds the notices and the answers): domain/kernel/materials.py. A service the materials
    lists do not name (another wing's) lists none."""
    where = {
        "service": request.service,
        "receiving_locality": request.receiving_locality,
        "handling_locality": request.handling_locality,
    }
    dispatched = request.payload.to_dict()
    answers, notices = exchanged["supplements"], [n["items"] for n in exchanged["notices"]]
    materials = wing_materials(request.service) or NO_MATERIALS
    catalog = catalog_of(request.service)
    return request_materials(catalog, materials, where, dispatched, answers, notices)


def office_role(here: str | None, request: ServiceRequest) -> str | None:
    """The part of the office at `here`: receives for another locality, decides here, or
    both (None: no office, an admin's read)."""
    if here is None:
        return None
    if request.receiving_locality == request.handling_locality == here:
        return "both"
    return "decide-here" if request.handling_locality == here else "receive-for-other"


def _case_open(container: Container, request: ServiceRequest) -> bool:
    """Whether the case is still open: a rejection may be resubmitted only then (the case is
    read only for a rejection not resubmitted yet)."""
    if request.state != RequestState.REJECTED or request.resubmitted_as is not None:
        return True
    return container.ledger.kernel_case(request.case_id).is_open


def exchanges(events: list[Any]) -> dict[str, Any]:
    """The one-time notices given and the answers to them, from the request's events."""
    notices = [_notice(e) for e in events if isinstance(e, ServiceRequest.SupplementRequested)]
    answers = [_answer(e) for e in events if isinstance(e, ServiceRequest.Supplemented)]
    return {"notices": notices, "supplements": answers}


def _notice(event: ServiceRequest.SupplementRequested) -> dict[str, Any]:
    at = event.timestamp.isoformat()
    return {
        "at": at,
        "items": list(event.items),
        "reason": event.reason,
        "family_due": event.family_due,
    }


def _answer(event: ServiceRequest.Supplemented) -> dict[str, Any]:
    evidence = [dict(e) for e in event.evidence]  # ids and hashes of stored documents
    return {"at": event.timestamp.isoformat(), "items": list(event.items), "evidence": evidence}


def asked_after_decision(request: ServiceRequest, events: list[Any]) -> dict[str, Any]:
    """What the office is asked to decide after its decision (null when nothing is): a
    correction's old and new values (only fields the service is sent), its evidence and
    due date; a revocation's reason and due date."""
    correction = revocation = None
    if request.state == RequestState.CORRECTION_REQUESTED:
        asked = _last(events, ServiceRequest.CorrectionRequested)
        visible = service_definition(request.service).visible_fields
        correction = {
            "old": _only(request.correction_old, visible),
            "new": _only(request.correction_new, visible),
            "evidence": list(request.evidence),
            "due": request.due,
            "due_provisional": bool(asked and asked.provisional),
        }
    if request.state == RequestState.REVOCATION_REQUESTED:
        ordered = _last(events, ServiceRequest.RevocationRequested)
        revocation = {
            "reason": ordered.reason if ordered else None,
            "due": request.due,
            "due_provisional": bool(ordered and ordered.provisional),
        }
    return {"correction": correction, "revocation": revocation}


def _last(events: list[Any], kind: type[E]) -> E | None:
    return next((e for e in reversed(events) if isinstance(e, kind)), None)


def _only(payload: DispatchPayload | None, fields: tuple[str, ...]) -> dict[str, Any]:
    values = payload.to_dict() if payload else {}
    return {k: v for k, v in values.items() if k in fields}


def timeline(
    container: Container, principal: Principal, request: ServiceRequest
) -> list[dict[str, Any]]:
    """The case's events and this request's, oldest first, each redacted for the caller's
    role (domain/births/history.py)."""
    ledger = container.ledger
    streams = [("case", request.case_id), (request.service, request.id)]
    events: list[tuple[str, CanMutateAggregate[Any]]] = [
        (stream, event)
        for stream, stream_id in streams
        for event in ledger.events.get(stream_id)
        if isinstance(event, CanMutateAggregate)
    ]
    events += session_streams(ledger, [request])  # its remote window sessions'
    entries = [case_history_entry(principal.role, stream, event) for stream, event in events]
    return sorted(entries, key=lambda e: e["at"])


def clock(request: ServiceRequest, *, overdue: bool, soon: bool) -> dict[str, Any]:
    """The request's due date and whose clock it is: the window's until accepted, the
    family's while a notice waits, then the handling office's."""
    whose = {
        RequestState.DISPATCHED: "receiving-window",
        RequestState.SUPPLEMENT_REQUESTED: "family",
    }.get(request.state, "handling-office")
    if request.state in (*ENDED, *WAITING):
        whose = "none"
    return {
        "due": request.due,
        "due_provisional": bool(request.due_provisional),
        "whose": whose,
        "overdue": overdue and request.state not in ENDED,
        "due_soon": soon and request.state not in ENDED,
    }


def next_actor(
    principal: Principal, request: ServiceRequest, case_open: bool = True
) -> dict[str, Any] | None:
    """Who acts next on the request, what and by when (None: it is over, or a rejection of a
    case closed or voided since); `you` is true when that is the caller's office."""
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
    if state == RequestState.REJECTED and request.resubmitted_as is None and case_open:
        rejection = request.rejection
        due = rejection.family_due if rejection else None
        return _next("family", "family", "resubmit, close the case or seek a remedy", due, False)
    if state == RequestState.BLOCKED:
        blocking = request.blocking_service or ""
        return _next("office", blocking, f"decide {blocking} first", None, False)
    if state == RequestState.PLANNED:
        party = "routing-desk" if request.route.manual_routing else "ledger"
        return _next(party, party, "route and dispatch", None, False)
    return None


def window_next(
    principal: Principal, request: ServiceRequest, windows: dict[str, Any]
) -> dict[str, Any] | None:
    """A request routed in mode remote-window (远程虚拟窗口), at the window or received: the
    receiving office books a session with the handling office (by the request's due date;
    again after a cancelled one), then the session's own next step until it ends; after a
    session held, the request's own next step (the handling office decides) is (None)."""
    if request.route.mode != REMOTE_WINDOW or request.state not in HOLDING:
        return None
    sessions = windows["sessions"]
    live = [s for s in sessions if s["state"] in ("booked", "in-progress")]
    if live:
        step: dict[str, Any] = dict(live[-1]["next"])
        offices: list[dict[str, str]] = step.pop("offices")
        you = principal.role == "office" and any(
            (o["locality"], o["authority"]) == (principal.scope, principal.authority)
            for o in offices
        )
        return step | {"you": you, "session_id": live[-1]["session_id"]} | offices[0]
    held = any(s["state"] == "ended" for s in sessions)
    if held or request.state == RequestState.SUPPLEMENT_REQUESTED:
        return None  # the request's own next step: the family's answer, or the decision
    place = request.receiving_locality
    you = principal.role == "office" and (principal.scope, principal.authority) == (
        place,
        request.authority,
    )
    action = f"book a remote window session with {request.handling_locality}" + (
        " and receive (受理)" if request.state == RequestState.DISPATCHED else ""
    )
    who = f"{request.authority} {place}"
    office = {"authority": request.authority, "locality": place}
    return _next("office", who, action, request.due, you) | office


def behind(container: Container, request: ServiceRequest) -> dict[str, str] | None:
    """For a request not dispatched yet or blocked: the service it waits on, as the case's
    `waiting_on` names it (projections/waiting.py), and nothing more: who holds that service,
    where and by when is that service's office's and the family's to know, not this one's
    (None when it names none, or the case is not projected yet)."""
    if request.state not in (RequestState.PLANNED, RequestState.BLOCKED):
        return None
    extras = container.projections.case_status_view.family_extras(request.case_id)
    for waiting in extras.get("waiting_on", []):
        if request.service in waiting["behind"]:
            return {"waits_on": waiting["service"]}
    if request.state == RequestState.BLOCKED and request.blocking_service:
        return {"waits_on": request.blocking_service}  # another wing's case: no family view
    if request.route.manual_routing:
        return None  # at the routing desk: the desk routes it
    for service in request.route.planned.depends_on:  # the first not decided yet
        earlier = container.ledger.latest_request(request.case_id, service)
        if earlier.state != RequestState.APPROVED:
            return {"waits_on": service}
    return None


def _next(party: str, who: str, action: str, due: str | None, you: bool) -> dict[str, Any]:
    return {"party": party, "who": who, "action": action, "due": due, "you": you}


def allowed_actions(
    principal: Principal, request: ServiceRequest, case_open: bool = True
) -> list[dict[str, Any]]:
    """The steps this state allows that the caller may take, each with what its body needs
    (approve: the result's field, from the catalog)."""
    found = []
    for action in STATE_ACTIONS.get(request.state, ()):
        allowed = _state_allows(request, action, case_open)
        if not allowed or not may_act(principal, request, action):
            continue
        entry: dict[str, Any] = {"action": action}
        if action in ("approve", "approve-correction"):
            entry["result_field"] = service_definition(request.service).result_field
        found.append(entry)
    return sorted(found, key=lambda e: ACTIONS.index(e["action"]))


def _state_allows(request: ServiceRequest, action: str, case_open: bool) -> bool:
    """The aggregate's and the ledger's finer rules: one notice per reception (a second only
    for corrected facts), none once deemed accepted; a rejection resubmitted once, and only
    while the case is open (CaseLedger.resubmit)."""
    if action == "request-supplement":
        return not request.deemed_accepted and (not request.notices or bool(request.new_facts))
    if action == "resubmit":
        return request.resubmitted_as is None and case_open
    return True
