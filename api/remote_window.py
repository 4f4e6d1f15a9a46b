"""Remote virtual window (远程虚拟窗口) routes: book a session, read it, start, join, end or
cancel it, and an office's sessions (adapters/remote_windows.py; the rules are the kernel's,
domain/kernel/remote_window.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    MAX_SESSION_NOTE,
    SESSION_ACTIONS,
    SESSION_PARTIES,
    Container,
    book_session,
    may_read_queue,
    office_sessions,
    read_session,
    session_step,
)
from api.audit import audited
from api.auth import authenticate, out_of_scope
from api.bodies import field, json_object, required_str, unknown_fields
from api.inputs import query_number
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse
from api.service_requests import office_of

MAX_TIME = 40  # an ISO 8601 date-time with its offset
STEP_FIELDS = {"start": (), "join": ("party",), "end": ("outcome",), "cancel": ("reason",)}
STEP_SCHEMAS = {
    "start": "SessionStart",
    "join": "SessionJoin",
    "end": "SessionEnd",
    "cancel": "SessionCancel",
}
OPERATIONS = [
    Operation(
        "/remote-window-sessions",
        "POST",
        "Book a remote virtual window session (远程虚拟窗口) for a request received here for "
        "another locality's office: the receiving office's clerk or registry system",
        roles=("office",),
        body="application/json",
        request_schema="SessionBooking",
        answer="RemoteWindowSession",
        ok=201,
        ok_text="Booked",
        responses={
            400: "The body is not a JSON object",
            404: "No such request for this office",
            409: "Not the receiving office (wrong-office), the request is not open at the "
            "window (request-not-open), another session of it is live (session-state), or "
            "the handling or receiving office has another live session at that time "
            "(slot-taken)",
            422: "Invalid body or slot (invalid-session: less than 5 minutes ahead, ending "
            "before it starts, longer than 4 hours, more than 90 days ahead, not on a working "
            "day or outside office hours 08:30-17:30 China time; or a request received and "
            "handled in one locality)",
        },
    ),
    Operation(
        "/remote-window-sessions/{session_id:uuid}",
        "GET",
        "One session as its offices (and admins) see it: offices, slot, state, who took "
        "part, who acts next and by when, the steps the caller may take",
        roles=("office", "admin"),
        answer="RemoteWindowSession",
        responses={
            404: "No such session for this caller",
            503: "The read audit cannot record the read now",
        },
    ),
    *(
        Operation(
            f"/remote-window-sessions/{{session_id:uuid}}/{action}",
            "POST",
            f"Session step: {action}",
            roles=("office",),
            body="application/json",
            request_schema=STEP_SCHEMAS[action],
            answer="RemoteWindowSession",
            responses={
                400: "The body is not a JSON object",
                404: "No such session for this office",
                409: "Not allowed in this state (session-state; a booked session whose "
                "slot's day is over is called off then), not this office's step "
                "(wrong-office), or the request left the window (request-not-open: a "
                "booked session is called off then)",
                422: "Invalid body",
            },
        )
        for action in SESSION_ACTIONS
    ),
    Operation(
        "/offices/{locality}/{authority}/remote-window-sessions",
        "GET",
        "An office's remote window sessions (as the receiving or the handling office), a "
        "page at a time (limit, offset; total): every session newest slot first; "
        "?live=true: booked or in progress only, soonest slot first",
        roles=("office",),
        params=("live", "limit", "offset"),
        answer="RemoteWindowSessions",
        responses={
            404: "Not this office's sessions",
            422: "A bad path or query parameter",
            503: "The read audit cannot record the read now",
        },
    ),
]


async def book(request: Request) -> Response:
    principal = await authenticate(request, "office")
    body = await json_object(request)
    unknown_fields(body, ("service_request_id", "starts_at", "ends_at", "note"))
    request_id = _uuid(required_str(body, "service_request_id", max_length=36))
    starts_at = required_str(body, "starts_at", max_length=MAX_TIME)
    ends_at = required_str(body, "ends_at", max_length=MAX_TIME)
    note = field(body, "note", str, required=False, max_length=MAX_SESSION_NOTE) or ""
    container: Container = request.app.state.container
    view = await run_in_threadpool(
        book_session, container, principal, request_id, starts_at, ends_at, note
    )
    return ORJSONResponse(view, status_code=201)


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ApiError(
            422, "invalid-field", "'service_request_id' is a UUID", field="service_request_id"
        ) from None


async def get_session(request: Request) -> Response:
    principal = await authenticate(request, "office", "admin")
    container: Container = request.app.state.container
    session_id = request.path_params["session_id"]
    view = await run_in_threadpool(read_session, container, principal, session_id)
    await audited(request, principal, "remote-window", view["case_id"], view["session_id"])
    return ORJSONResponse(view)


async def step(request: Request, action: str) -> Response:
    principal = await authenticate(request, "office")
    body = await json_object(request)
    unknown_fields(body, STEP_FIELDS[action])
    party = text = ""
    if action == "join":
        party = required_str(body, "party", max_length=16)
        if party not in SESSION_PARTIES:
            raise ApiError(
                422,
                "invalid-field",
                f"'party' is one of {', '.join(SESSION_PARTIES)}",
                field="party",
            )
    elif action == "end":
        text = field(body, "outcome", str, required=False, max_length=MAX_SESSION_NOTE) or ""
    elif action == "cancel":
        text = required_str(body, "reason", max_length=MAX_SESSION_NOTE)
    container: Container = request.app.state.container
    session_id = request.path_params["session_id"]
    view = await run_in_threadpool(
        session_step, container, principal, session_id, action, party, text
    )
    return ORJSONResponse(view)


def _endpoint(action: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await step(request, action)

    return endpoint


async def office_list(request: Request) -> Response:
    principal = await authenticate(request, "office")
    locality, authority = office_of(request.path_params)
    if not may_read_queue(principal, locality, authority):
        raise out_of_scope()
    live = request.query_params.get("live")
    if live not in (None, "true", "false"):
        raise ApiError(422, "invalid-parameter", "live is true or false", parameter="live")
    limit = query_number(request, "limit", 50, 500)
    offset = query_number(request, "offset", 0, 10**9)
    container: Container = request.app.state.container
    page: dict[str, Any] = await run_in_threadpool(
        office_sessions, container, locality, authority, live == "true", limit, offset
    )
    if page["rows"]:  # a page of the office's sessions: one row of the audit, no case
        await audited(request, principal, "queue", "")
    return ORJSONResponse({"locality": locality, "authority": authority, **page})


ROUTES = [
    Route("/remote-window-sessions", book, methods=["POST"]),
    Route("/remote-window-sessions/{session_id:uuid}", get_session, methods=["GET"]),
    *(
        Route(
            f"/remote-window-sessions/{{session_id:uuid}}/{action}",
            _endpoint(action),
            methods=["POST"],
        )
        for action in SESSION_ACTIONS
    ),
    Route("/offices/{locality}/{authority}/remote-window-sessions", office_list, methods=["GET"]),
]
