"""The remote virtual window as the HTTP layer uses it: book a session, take a step on it,
read one as its offices (and admins) see it, list an office's, and the sessions' events in
a case's history (domain/kernel/remote_window.py holds the rules).

Access: a session is seen by its two offices and admins; anyone else gets the same answer as
for a missing session (OutOfScopeError), so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from adapters.bootstrap import Container
from domain.kernel.access import OutOfScopeError, office_may_see
from domain.kernel.actors import Principal
from domain.kernel.commands import BookSession, SessionStep
from domain.kernel.errors import (
    ServiceRequestNotFoundError,
    SessionNotFoundError,
    WrongOfficeError,
)
from domain.kernel.remote_window import (
    PARTIES,
    RemoteWindowSession,
    SessionState,
    next_step,
)
from domain.kernel.service_request import HOLDING, OPEN_STATES, ServiceRequest
from domain.kernel.window_values import WindowOffice
from domain.ledger import CaseLedger

NOTE_ROLES = ("office", "admin")  # who reads a session's note and outcome (free text)


def caller_office(principal: Principal) -> WindowOffice | None:
    """The office a clerk or a registry system acts for (None: not an office)."""
    if principal.role != "office" or principal.authority is None:
        return None
    return WindowOffice(principal.scope, principal.authority)


def book(
    container: Container,
    principal: Principal,
    service_request_id: UUID,
    starts_at: str,
    ends_at: str,
    note: str,
) -> dict[str, Any]:
    """POST /remote-window-sessions: the receiving office books a session for a request it
    sees (a request it does not see is answered as a missing one)."""
    ledger = container.ledger
    office = caller_office(principal)
    try:
        request = ledger.get_request(service_request_id)
    except ServiceRequestNotFoundError:
        raise OutOfScopeError() from None
    if office is None or not office_may_see(principal, request):
        raise OutOfScopeError()
    cmd = BookSession(service_request_id, office, principal.officer, starts_at, ends_at, note)
    session = ledger.book_session(cmd)
    container.after_command()
    return session_view(ledger, principal, session, request)


def step(
    container: Container,
    principal: Principal,
    session_id: UUID,
    action: str,
    party: str = "",
    text: str = "",
) -> dict[str, Any]:
    """POST /remote-window-sessions/{id}/{action}: one of the session's offices takes a step."""
    ledger = container.ledger
    session = seen_session(ledger, principal, session_id)
    office = caller_office(principal)
    if office is None:  # an admin reads every session but acts for no office
        raise WrongOfficeError("An office of the session takes this step")
    done = ledger.session_step(
        SessionStep(session.id, action, office, principal.officer, party, text)
    )
    container.after_command()
    return session_view(ledger, principal, done)


def seen_session(ledger: CaseLedger, principal: Principal, session_id: UUID) -> RemoteWindowSession:
    """The session if the caller sees it (one of its offices, or an admin); else out of scope."""
    try:
        session = ledger.get_session(session_id)
    except SessionNotFoundError:
        raise OutOfScopeError() from None
    office = caller_office(principal)
    if principal.role == "admin" or (office is not None and session.side_of(office)):
        return session
    raise OutOfScopeError()


def read(container: Container, principal: Principal, session_id: UUID) -> dict[str, Any]:
    """GET /remote-window-sessions/{id}."""
    ledger = container.ledger
    return session_view(ledger, principal, seen_session(ledger, principal, session_id))


def session_view(
    ledger: CaseLedger,
    principal: Principal,
    session: RemoteWindowSession,
    request: ServiceRequest | None = None,
) -> dict[str, Any]:
    """The session as the caller sees it: its offices, slot, state, who took part, who acts
    next and by when, and the steps the caller may take now."""
    request = request or ledger.get_request(session.service_request_id)
    office = caller_office(principal)
    side = session.side_of(office) if office is not None else None
    decided = request.state not in OPEN_STATES
    view: dict[str, Any] = {
        "session_id": str(session.id),
        "service_request_id": str(session.service_request_id),
        "case_id": str(session.case_id),
        "service": session.service,
        "mode": request.route.mode,
        "state": session.state.value,
        "receiving": session.receiving.to_dict(),
        "handling": session.handling.to_dict(),
        "starts_at": session.slot.starts_at,
        "ends_at": session.slot.ends_at,
        "joined": list(session.joined),
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "side": side,
        "request_state": request.state.value,
        "next": next_step(session, decided, request.due),
        "actions": actions(session, side),
    }
    if principal.role in NOTE_ROLES:
        view |= {
            "note": session.note,
            "outcome": session.outcome,
            "cancel_reason": session.cancel_reason,
        }
    if principal.role == "admin":
        view["booked_by"] = session.booked_by
    if view["next"] is not None and office is not None:
        view["next"]["you"] = office.to_dict() in view["next"]["offices"]
    return view


def actions(session: RemoteWindowSession, side: str | None) -> list[dict[str, Any]]:
    """The steps the session's state allows the caller's side (none for an admin)."""
    if side is None or not session.is_live:
        return []
    found: list[dict[str, Any]] = []
    if session.state == SessionState.BOOKED:
        found.append({"action": "start"})
    parties = ("handling",) if side == "handling" else ("receiving", "applicant")
    if left := [p for p in parties if p not in session.joined]:
        found.append({"action": "join", "parties": left})
    if session.state == SessionState.IN_PROGRESS and side == "handling":
        found.append({"action": "end"})
    if session.state == SessionState.BOOKED:
        found.append({"action": "cancel"})
    return found


def office_sessions(
    container: Container, locality: str, authority: str, live_only: bool
) -> list[dict[str, Any]]:
    """GET /offices/{locality}/{authority}/remote-window-sessions (its scope checked by the
    route): the office's sessions, soonest first."""
    view = container.projections.remote_window_sessions_view
    return [r.to_dict() for r in view.office(locality, authority, live_only=live_only)]


def request_sessions(
    ledger: CaseLedger, principal: Principal, request: ServiceRequest
) -> dict[str, Any]:
    """The workbench's part: the request's sessions and whether the caller may book one (the
    receiving office of a request received for another locality, while it is at the
    window)."""
    if request.receiving_locality == request.handling_locality:
        return {"sessions": [], "may_book": False}
    sessions = ledger.sessions_of(request.id)
    office = caller_office(principal)
    receiving = WindowOffice(request.receiving_locality, request.authority)
    may_book = (
        office == receiving and request.state in HOLDING and not any(s.is_live for s in sessions)
    )
    return {
        "sessions": [session_view(ledger, principal, s, request) for s in sessions],
        "may_book": may_book,
    }


__all__ = [
    "PARTIES",
    "book",
    "caller_office",
    "office_sessions",
    "read",
    "request_sessions",
    "session_view",
    "step",
]
