"""Staff sign-in for the pages: GET/POST /sign-in (password + one-time code, a form with its
own login-CSRF token), POST /sign-out, GET /session (who, and the CSRF token the pages send),
and the administrators' sign-in log, GET /audit/sign-ins."""

from __future__ import annotations

import hmac
import math
import re
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from adapters.facade import SignInRefusedError, end_session, password_sign_in
from adapters.settings import Settings
from api.auth import CSRF_FIELD, SESSION_COOKIE, authenticate, signed_in
from api.openapi import HTML, Operation
from api.pages import PAGE_HEADERS, reference, static_url
from api.pages import environment as templates
from api.problems import ApiError
from api.responses import ORJSONResponse
from api.tracking import Throttle

PRE_COOKIE = "nl_sign_in"  # the sign-in form's own token (login CSRF), until signed in
MAX_FORM = 8_192
ADDRESS_FAILURES, ADDRESS_WINDOW_S = 30, 900.0  # failed sign-ins from one address, 15 min
LANDING = {"office": "/office", "monitor": "/monitor", "coordinator": "/desk", "admin": "/office"}
STATUS = {"locked": 429, "disabled": 403}  # every other refusal is 401
SIGN_IN_HEADERS = {**PAGE_HEADERS, "Content-Security-Policy": PAGE_HEADERS[
    "Content-Security-Policy"
].replace("form-action 'none'", "form-action 'self'")}  # fmt: skip


def landing_page(role: str) -> str:
    return LANDING.get(role, "/office")


def set_session_cookie(response: Response, settings: Settings, cookie_value: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Path=/, Secure unless configured off."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie_value,
        max_age=settings.accounts.session_max_s,
        path="/",
        secure=settings.accounts.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def sign_in_page(
    request: Request,
    message: str = "",
    status: int = 200,
    username: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    """The form with a fresh login-CSRF token (in a cookie and a hidden field)."""
    token = secrets.token_urlsafe(24)
    notice = {"ended": "Your session has ended: sign in again", "out": "You have signed out"}
    html = templates().get_template("sign_in.html").render(
        reference=reference(), static=static_url, page="sign-in", csrf_token=token,
        message=message, notice=notice.get(request.query_params.get("from", ""), ""),
        username=username, oidc=request.app.state.oidc is not None,
    )  # fmt: skip
    response = HTMLResponse(
        html, status_code=status, headers={**SIGN_IN_HEADERS, **(headers or {})}
    )
    settings: Settings = request.app.state.container.settings
    response.set_cookie(
        PRE_COOKIE, token, max_age=3_600, path="/sign-in", httponly=True, samesite="strict",
        secure=settings.accounts.cookie_secure,
    )  # fmt: skip
    return response


async def show(request: Request) -> Response:
    return sign_in_page(request)


async def sign_in(request: Request) -> Response:
    form = await _form(request)
    sent, expected = form.get(CSRF_FIELD, ""), request.cookies.get(PRE_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        message = "The sign-in form expired or did not come from this site: sign in again"
        if _browser(request):
            return sign_in_page(request, message, 403)
        raise ApiError(403, "csrf-token-invalid", message)
    username = form.get("username", "")
    throttle: Throttle = request.app.state.sign_in_throttle
    address = f"client:{request.client.host if request.client else '-'}"
    attempt = throttle.attempt(address)  # counted before the answer: no bursts
    if attempt is None:  # many users tried from one address: password spraying
        wait = str(throttle.retry_after(address))
        message = f"Too many failed sign-ins from this address; try again in {wait} seconds"
        if _browser(request):
            return sign_in_page(request, message, 429, username, {"Retry-After": wait})
        raise ApiError(429, "too-many-attempts", message, headers={"Retry-After": wait})
    container = request.app.state.container
    try:
        user, cookie, _ = await run_in_threadpool(
            password_sign_in, container, username, form.get("password", ""), form.get("code", "")
        )
    except SignInRefusedError as refused:
        status = STATUS.get(refused.reason, 401)
        headers = _retry_after(refused.locked_until) if status == 429 else {}
        if _browser(request):
            return sign_in_page(request, refused.detail, status, username, headers)
        raise ApiError(
            status, "sign-in-refused", refused.detail, reason=refused.reason, headers=headers
        ) from None
    throttle.succeeded(address, at=attempt)
    response = RedirectResponse(landing_page(user.role), status_code=303)
    set_session_cookie(response, container.settings, cookie)
    response.delete_cookie(
        PRE_COOKIE, path="/sign-in", secure=container.settings.accounts.cookie_secure,
        httponly=True, samesite="strict",
    )  # fmt: skip
    return response


async def sign_out(request: Request) -> Response:
    """Ends the session (its CSRF token needed); 204 for the pages' fetch, a 303 to the
    sign-in page for a form post. Without a live session it only clears the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    try:
        await signed_in(request)
    except ApiError as error:
        if error.code != "session-ended":
            raise
    else:  # signed_in checked the CSRF token
        await run_in_threadpool(end_session, request.app.state.container, cookie)
    form_post = CSRF_FIELD in (await _form(request))
    response = (
        RedirectResponse("/sign-in?from=out", status_code=303)
        if form_post
        else Response(status_code=204)
    )
    secure = request.app.state.container.settings.accounts.cookie_secure
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict"
    )
    return response


async def session(request: Request) -> Response:
    found = await signed_in(request)
    p = found.principal
    return ORJSONResponse(
        {
            "user": p.user,
            "role": p.role,
            "scope": p.scope,
            "authority": p.authority,
            "csrf_token": found.csrf,
            "expires": _iso(found.expires_at),
            "idle_expires": _iso(found.idle_ends_at),
        },
        headers={"Cache-Control": "no-store"},
    )


async def sign_ins(request: Request) -> Response:
    """The sign-in log, newest first: ?user=&from=&to=&limit= (admins)."""
    await authenticate(request, "admin")
    params = request.query_params
    start, end = _moment(params.get("from"), "from", 0.0), _moment(params.get("to"), "to", 1e12)
    limit = _limit(params.get("limit", "100"))
    rows = await run_in_threadpool(
        request.app.state.container.sessions.sign_ins, params.get("user", ""), start, end, limit
    )
    return ORJSONResponse(
        {"sign_ins": [{**row.__dict__, "at": _iso(row.at)} for row in rows]},
        headers={"Cache-Control": "no-store"},
    )


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        raise ApiError(413, "too-large", f"A form is at most {MAX_FORM} bytes")
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _retry_after(locked_until: str | None) -> dict[str, str]:
    """Retry-After for a locked user: whole seconds until the lock ends (at least 1)."""
    if not locked_until:
        return {}
    left = (datetime.fromisoformat(locked_until) - datetime.now(UTC)).total_seconds()
    return {"Retry-After": str(max(1, math.ceil(left)))}


def _browser(request: Request) -> bool:
    """A browser's form post (it accepts HTML) gets the form again; others problem+json."""
    return "text/html" in request.headers.get("accept", "")


def _moment(raw: str | None, name: str, default: float) -> float:
    """An ISO 8601 date or date-time (UTC when it names no offset), as epoch seconds."""
    if raw is None:
        return default
    text = re.sub(r"(T[0-9:.]+) (\d{2}(?::?\d{2})?)$", r"\1+\2", raw.strip())  # "+" as " "
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            422, "invalid-parameter", f"{name} is an ISO 8601 date or date-time", parameter=name
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _limit(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 1_000:
        raise ApiError(422, "invalid-parameter", "limit is 1 to 1000", parameter="limit")
    return int(raw)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


OPERATIONS = [
    Operation(
        "/sign-in", "GET", "HTML page: the staff sign-in form (password + code)", media=(HTML,)
    ),
    Operation(
        "/sign-in",
        "POST",
        "Staff sign-in (form: username, password, code, csrf_token): 303 to the user's page "
        "with the session cookie; a refusal answers the form again with its reason",
        media=(HTML,),
        ok=303,
        ok_text="Signed in: see Location",
        responses={
            401: "Wrong username, password or code, or a code used already (a browser gets "
            "the form again with the reason, as HTML)",
            403: "The form's token is missing or wrong, or the account is disabled",
            413: "The form is too large",
            429: "Locked after repeated failures, or too many failed sign-ins from the "
            "address (the detail says until when; Retry-After)",
        },
    ),
    Operation(
        "/sign-out",
        "POST",
        "End the staff session (CSRF token in X-CSRF-Token, or csrf_token in a form: 303)",
        ok=204,
        ok_text="Signed out",
        responses={403: "The CSRF token is missing or wrong"},
    ),
    Operation(
        "/session",
        "GET",
        "The signed-in staff user, the session's end and the CSRF token for unsafe requests",
        answer="Session",
        responses={401: "No live session (signed out, idle too long, or past its limit)"},
    ),
    Operation(
        "/audit/sign-ins",
        "GET",
        "The sign-in log, newest first (?user=&from=&to=&limit=)",
        roles=("admin",),
        answer="SignIns",
        params=("user", "from", "to", "limit"),
        responses={422: "A bad parameter"},
    ),
]
ROUTES = [
    Route("/sign-in", show, methods=["GET"]),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/session", session, methods=["GET"]),
    Route("/audit/sign-ins", sign_ins, methods=["GET"]),
]
