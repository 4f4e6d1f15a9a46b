"""Who may see and do what: the access and visibility rules of cases, service requests, office
queues and monitoring figures. Plain functions of the caller (`Principal`) and what it asks
about; the API turns a refusal into the same 404 as a missing resource."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from domain.kernel.actors import AUTHORITIES, Principal
from domain.kernel.errors import DomainError
from domain.kernel.service_request import RequestState, ServiceRequest

CASE_ROLES = ("hospital", "office", "family")  # who reads cases (an admin reads every one)
TRACKING_ROLES = ("hospital", "admin", "family")  # who sees the case's tracking code
RECORD_REF_ROLES = ("hospital", "admin")  # who sees the hospital's record key
RESULT_ROLES = ("family", "admin")  # who sees results and the items awaited
NEXT_STEP_ROLES = ("family", "admin")  # who sees the family's next action and timeline
ACTIONS = (
    "receive",
    "request-supplement",
    "supplement",
    "approve",
    "reject",
    "resubmit",
    "approve-correction",
    "reject-correction",
    "revoke",
)
FAMILY_ACTIONS = ("supplement", "resubmit")  # what a family does on its own case's requests
# Which office acts: the receiving window receives and asks for supplements (it checks form
# and identity); the handling office decides (decision power never moves, domain ref §2.1).
ACTOR_SIDE = {
    "receive": "receiving",
    "request-supplement": "either",
    "supplement": "either",
    "approve": "handling",
    "reject": "handling",
    "resubmit": "either",  # an office may resubmit on the family's behalf
    # after a decision, the office that decided: a correction decided again, a result revoked
    "approve-correction": "handling",
    "reject-correction": "handling",
    "revoke": "handling",
}
# A request handled online (全程网办) has no separate window: its handling office receives it
# itself (domain ref §2.1); off-site (异地代收代办) keeps the receive/decide split above.
ONLINE_SIDE = {**ACTOR_SIDE, "receive": "either"}


class OutOfScopeError(DomainError):
    """Out of the caller's scope: shown exactly as a missing resource, so ids cannot be probed."""

    code = "not-found"

    def __init__(self, detail: str = "No such resource for this caller") -> None:
        super().__init__(detail)


class CaseNotYetError(DomainError):
    """The case the caller may see did not exist yet at the moment asked about (`as_of`)."""

    code = "not-found"

    def __init__(self, detail: str = "The case did not exist yet at that time") -> None:
        super().__init__(detail)


class Case(Protocol):
    """What the rules read of a case: its id and the facility that notified it."""

    @property
    def id(self) -> UUID: ...

    @property
    def facility_uscc(self) -> str: ...


def holds_verifier(citizen_id: str | None, phone: str | None, verifier: str) -> bool:
    """A family proves it is the mother's with the last 6 of her citizen ID or her phone
    (case-blind, compared in constant time)."""
    candidates = [(citizen_id or "")[-6:], phone or ""]
    given = verifier.strip().upper()
    return any(c and hmac.compare_digest(c.upper(), given) for c in candidates)


def may_call(principal: Principal, roles: Sequence[str]) -> bool:
    """A route open to `roles` (every role when empty); an admin may call every route."""
    return not roles or principal.role in roles or principal.role == "admin"


def speaks_for(principal: Principal, facility_uscc: str) -> bool:
    """A hospital sends messages for its own facility only; an admin for any."""
    return principal.role == "admin" or facility_uscc == principal.scope


def may_see(principal: Principal, case: Case, requests: Sequence[ServiceRequest]) -> bool:
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
    """An office sees the requests of its authority routed to or received in its locality."""
    return request.authority == principal.authority and principal.scope in (
        request.handling_locality,
        request.receiving_locality,
    )


def visible_requests(
    principal: Principal, requests: Sequence[ServiceRequest]
) -> list[ServiceRequest]:
    """The case's requests the caller sees: an office its own, everyone else all of them."""
    if principal.role == "office":
        return [r for r in requests if office_may_see(principal, r)]
    return list(requests)


def foreign_case(principal: Principal, case_id: UUID) -> bool:
    """A family acting on a case other than its own (other roles are checked elsewhere)."""
    return principal.role == "family" and principal.scope != str(case_id)


def may_rate(principal: Principal, case_id: UUID) -> bool:
    """The family rates its own case, once done; nobody rates on its behalf (not an admin)."""
    return principal.role == "family" and principal.scope == str(case_id)


def facility_read(principal: Principal, asked: str) -> str:
    """Whose cases a hospital lookup reads: a hospital its own facility's, whatever it asks;
    an admin the facility it names."""
    return principal.scope if principal.role == "hospital" else asked


def may_act(principal: Principal, request: ServiceRequest, action: str) -> bool:
    """An office step on a request: the receiving or handling office of its authority as the
    action needs; a family only supplements or resubmits its own case's; an admin does
    anything."""
    if principal.role == "admin":
        return True
    if principal.role == "family":
        return action in FAMILY_ACTIONS and str(request.case_id) == principal.scope
    if principal.role != "office" or principal.authority != request.authority:
        return False
    sides = ONLINE_SIDE if request.route.mode == "online" else ACTOR_SIDE
    side = sides[action]
    if action == "request-supplement" and request.state == RequestState.DISPATCHED:
        side = sides["receive"]  # before acceptance the notice is the window's (Art. 32)
    places = {
        "receiving": {request.receiving_locality},
        "handling": {request.handling_locality},
        "either": {request.receiving_locality, request.handling_locality},
    }[side]
    return principal.scope in places


def may_read_queue(principal: Principal, locality: str, authority: str) -> bool:
    """An office reads its own queue (a known authority's); an admin reads any."""
    if authority not in AUTHORITIES:
        return False
    return principal.role == "admin" or (principal.scope, principal.authority) == (
        locality,
        authority,
    )


def covers(principal: Principal, code: str) -> bool:
    """A monitor sees the localities of its province (or all, national); an admin all."""
    return principal.role == "admin" or principal.scope in ("national", code[:2])


def may_see_flow(principal: Principal, birth_province: str, hukou_province: str) -> bool:
    """A flow between two provinces: for a national monitor, an admin, or either province's."""
    return (
        principal.scope == "national"
        or principal.role == "admin"
        or principal.scope in (birth_province, hukou_province)
    )


def may_see_desk(principal: Principal, scope: str) -> bool:
    """A coordinator sees its own desk (a province's, or the national one); an admin every
    desk."""
    return principal.role == "admin" or (
        principal.role == "coordinator" and principal.scope == scope
    )


def may_route(principal: Principal, request: ServiceRequest) -> bool:
    """A coordinator routes the requests of its desk (the national one: every one); an admin
    any."""
    if principal.role == "admin":
        return True
    desk = request.handling_locality[:2]
    return principal.role == "coordinator" and principal.scope in ("national", desk)
