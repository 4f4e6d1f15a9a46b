"""Marriage registration for the HTTP layer: opening the couple's case on the ledger, and the
case as a caller may see it (scoped by the kernel's access rules, redacted per role)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from adapters.bootstrap import Container
from domain.kernel.access import RESULT_ROLES, OutOfScopeError, office_may_see
from domain.kernel.actors import Principal
from domain.kernel.applicants import IdentityCheck
from domain.kernel.routing_desk import desk_of
from domain.kernel.service_request import RequestState, ServiceRequest
from domain.marriage.case import RESIDENCE_PERMIT, MarriageCase, Party
from domain.marriage.catalog import load_materials
from domain.marriage.services import RegisterMarriage, register_marriage

PARTIES = ("party_a", "party_b")
REGISTRATION = "marriage-registration"  # the service the couple attend in person
PERMIT_MATERIAL = "residence-permit"  # the residence permit: only at the permit's place


def open_marriage(
    container: Container, cmd: RegisterMarriage, clerk: Principal | None
) -> tuple[UUID, str]:
    """Open the couple's case (the kernel plans and routes it once the command is done):
    its id and tracking code. A window clerk's application records the clerk's check."""
    if clerk is None:
        identity = IdentityCheck.online()
    else:
        assert clerk.authority is not None  # an office's principal names its authority
        identity = IdentityCheck.at_window(str(clerk.actor_id), clerk.scope, clerk.authority)
    case = register_marriage(container.ledger, cmd, identity, container.ledger.tracking_codes())
    container.after_command()
    return case.id, case.tracking_code


def marriage_case(container: Container, principal: Principal, case_id: UUID) -> dict[str, Any]:
    """The case for the caller: the applicants (family token), an office its requests are
    routed to or received by, an admin; anyone else OutOfScopeError (the same 404 as no
    such case). Offices see only the party fields their requests were dispatched."""
    case = _case(container, case_id)
    requests = container.ledger.latest_requests(case.id, case.planned_services)
    role = principal.role
    own = [r for r in requests if role == "office" and office_may_see(principal, r)]
    if not (role == "admin" or (role == "family" and principal.scope == str(case.id)) or own):
        raise OutOfScopeError()
    shown = requests if role != "office" else own
    dispatched = {key for r in own for key in r.payload}
    parties = {
        name: _party(
            getattr(case, name),
            full=role == "admin",
            fields=None if role != "office" else _dispatched(dispatched, name),
        )
        for name in PARTIES
        if role != "office" or _dispatched(dispatched, name)
    }
    latest = {r.service: r for r in requests}
    services = [_request(r, principal, case, latest) for r in shown]
    view: dict[str, Any] = {
        "case_id": str(case.id),
        "kind": "marriage",
        "state": str(case.state),
        "registration_place": case.registration_place,
        "registration_division": case.registration_division,
        "identity_check": case.identity.method,
        "parties": parties,
        "services": services,
        "next": next((s["next"] for s in services if _acts(s["next"])), None),
        "bring": to_bring(case.registration_place),
    }
    if role in ("family", "admin"):
        view["tracking_code"] = case.tracking_code
    return view


def _dispatched(keys: set[str], party: str) -> frozenset[str]:
    """The attributes of `party` ("party_a") among the dispatched field names."""
    return frozenset(k.partition(".")[2] for k in keys if k.partition(".")[0] == party)


def _acts(step: dict[str, Any] | None) -> bool:
    """A step somebody takes (not one waiting on another service)."""
    return step is not None and step["who"] != WAITING


def _case(container: Container, case_id: UUID) -> MarriageCase:
    try:
        case: Aggregate = container.ledger.repository.get(case_id)
    except AggregateNotFoundError:  # the same answer as a case out of scope
        raise OutOfScopeError() from None
    if not isinstance(case, MarriageCase):
        raise OutOfScopeError()
    return case


def _party(party: Party, *, full: bool, fields: frozenset[str] | None) -> dict[str, Any]:
    """A party as shown: the citizen ID and phone masked but for the admin; to an office only
    the fields dispatched to it (`fields`; None: all)."""
    shown = {
        "name": party.name,
        "citizen_id": party.citizen_id if full else mask(party.citizen_id),
        "phone": (party.phone if full else mask(party.phone)) if party.phone else None,
        "hukou_division": party.hukou_division,
        "residence_division": party.residence_division,
    }
    return shown if fields is None else {k: v for k, v in shown.items() if k in fields}


def mask(value: str) -> str:
    """All but the last 4 characters hidden."""
    return "*" * max(len(value) - 4, 0) + value[-4:]


def to_bring(registration_place: str) -> list[dict[str, str | None]]:
    """What the couple bring to the registration office in person: the documents of the
    registration's materials list (domain/marriage/reference/materials.json) that the
    applicants present; the residence permit only when they register at its place."""
    listed = load_materials().of(REGISTRATION)
    assert listed is not None  # the catalog check makes every service listed
    return [
        {"code": m.code, "name_zh": m.name_zh, "name": m.name, "note": m.note}
        for m in listed.materials
        if m.satisfied_by == "family"
        and m.field is None  # a document, not an answer of the form
        and (m.code != PERMIT_MATERIAL or registration_place == RESIDENCE_PERMIT)
    ]


def _request(
    request: ServiceRequest,
    principal: Principal,
    case: MarriageCase,
    latest: dict[str, ServiceRequest],
) -> dict[str, Any]:
    result = request.result
    sees_result = principal.role in RESULT_ROLES or (
        principal.role == "office" and principal.scope == request.handling_locality
    )
    entry: dict[str, Any] = {
        "service": request.service,
        "service_request_id": str(request.id),
        "state": str(request.state),
        "authority": request.authority,
        "handling_locality": request.handling_locality,
        "receiving_locality": request.receiving_locality,
        "mode": request.route.mode,
        "manual_routing": request.route.manual_routing,
        "due": request.due,
        "result": result.to_dict() if result is not None and sees_result else None,
        "next": next_step(request, case, latest),
    }
    return entry


WAITING = "nobody yet"


def next_step(
    request: ServiceRequest, case: MarriageCase, latest: dict[str, ServiceRequest]
) -> dict[str, Any] | None:
    """Who acts next on the request and by when (None: nobody: it is decided or ended, or
    the case is closed or completed). `latest`: each service's latest attempt."""
    if not case.is_open:
        return None
    state, due = request.state, request.due
    office = f"{request.authority} {request.receiving_locality}"
    handler = f"{request.authority} {request.handling_locality}"
    if state == RequestState.PLANNED and request.route.manual_routing:
        who, what = f"routing desk {desk_of(request.handling_locality)}", "route the request"
    elif state == RequestState.PLANNED:
        who, what = WAITING, "waits for the services it depends on"
    elif state == RequestState.DISPATCHED:
        who, what = office, "receive the request"
        if request.service == REGISTRATION and case.identity.method == "online":
            what += (
                " and check both parties' identity documents in person (an online "
                "application: nobody has checked them yet)"
            )
    elif state == RequestState.RECEIVED:
        who, what = handler, "decide"
    elif state == RequestState.SUPPLEMENT_REQUESTED:
        who, what = "applicants", "supply what the office asked for"
    elif state == RequestState.REJECTED:
        if request.resubmitted_as is not None:
            return None  # the new attempt carries the next step
        rejection = request.rejection
        who, what = "applicants", "resubmit or close the case"
        due = rejection.family_due if rejection is not None else None
    elif state == RequestState.BLOCKED:
        blocker = latest.get(request.blocking_service or "")
        if blocker is not None and blocker.state != RequestState.REJECTED:
            who = WAITING
            what = f"waits for the resubmitted {blocker.service} (attempt {blocker.attempt})"
            due = None
        else:
            who, what = "applicants", f"resubmit the refused {request.blocking_service} or close"
            rejection = blocker.rejection if blocker is not None else None
            due = rejection.family_due if rejection is not None else None
    else:
        return None
    return {"service": request.service, "who": who, "action": what, "due": due}
