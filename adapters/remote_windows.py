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
    SlotTakenError,
    WrongOfficeError,
)
from domain.kernel.remote_window import (
    PARTIES,
    RemoteWindowSession,
    SessionState,
    next_step,
)
from domain.kernel.service_request import HOLDING, ServiceRequest
from domain.kernel.window_values import Slot, WindowOffice
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
    slot = Slot.checked(starts_at, ends_at, ledger.clock())  # the ledger checks it again
    _refuse_taken(container, request, slot)
    cmd = BookSession(service_request_id, office, principal.officer, starts_at, ends_at, note)
    session = ledger.book_session(cmd)
    container.after_command()
    return session_view(ledger, principal, session, request)


def _refuse_taken(container: Container, request: ServiceRequest, slot: Slot) -> None:
    """SlotTakenError when a live session of the request's handling or receiving office
    meets the slot (another request's: the request's own live session is the ledger's
    session-state). Read from the sessions' view, which the embedded worker brings up to
    date after every command; two bookings racing in one instant are not caught here."""
    view = container.projections.remote_window_sessions_view
    for locality in (request.handling_locality, request.receiving_locality):
        for row in view.live_of(locality, request.authority):
            if row.service_request_id != str(request.id) and slot.overlaps(
                row.starts_at, row.ends_at
            ):
                side = "handling" if locality == request.handling_locality else "receiving"
                raise SlotTakenError(
                    f"The {side} office ({request.authority} {locality}) has another session "
                    f"from {row.starts_at} to {row.ends_at}: choose another time",
                    starts_at=row.starts_at,
                    ends_at=row.ends_at,
                )


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
    now = ledger.clock()
    # booked, but its request left the window or its slot's day is over: the ledger calls
    # it off at its next step (or the deadline job's round); no step is offered meanwhile
    stale = session.lapsed(now) or (session.is_live and request.state not in HOLDING)
    stale = stale and session.state == SessionState.BOOKED
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
        "lapses_at": session.slot.lapses_at.isoformat(timespec="minutes"),
        "next": next_step(session, request, now),
        "actions": [] if stale else actions(session, side),
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
    container: Container,
    locality: str,
    authority: str,
    live_only: bool,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """GET /offices/{locality}/{authority}/remote-window-sessions (its scope checked by the
    route): a page of the office's sessions (live ones soonest first, all newest first) and
    how many there are."""
    view = container.projections.remote_window_sessions_view
    rows, total = view.office(locality, authority, live_only=live_only, limit=limit, offset=offset)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "rows": [r.to_dict() for r in rows],
    }


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
    now = ledger.clock()  # a booked session whose slot's day is over is called off at booking
    live = any(s.is_live and not s.lapsed(now) for s in sessions)
    may_book = office == receiving and request.state in HOLDING and not live
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
