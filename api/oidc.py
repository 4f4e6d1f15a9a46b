"""Staff sign-in through the identity provider (OpenID Connect).

GET /sign-in/oidc sends the browser to the provider with a new attempt (state, nonce, PKCE)
kept in a sealed, short-lived cookie; GET /sign-in/oidc/callback checks the provider's answer,
maps the subject to a staff user (`newborn-ledger user add ... --oidc-subject SUB`) and opens
that user's session. Every refusal is recorded in the sign-in log and answered with a page
(or problem+json) that says why: never a 500, never a token or secret in the answer or logs.
"""

from __future__ import annotations

import logging
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from adapters.facade import (
    AttemptError,
    Container,
    OidcClient,
    ProviderSignInError,
    SignInRefusedError,
    StaffUser,
    attempt_key,
    open_session,
    record_sign_in_refused,
    seal_attempt,
    unseal_attempt,
)
from api.openapi import HTML, Operation
from api.pages import PAGE_HEADERS, environment, reference, static_url
from api.problems import ApiError
from api.responses import problem
from api.sign_in import landing_page, set_session_cookie

log = logging.getLogger(__name__)
ATTEMPT_COOKIE = "nl_oidc"
ATTEMPT_PATH = "/sign-in/oidc"  # the cookie goes to the callback only
STATUS = {  # refusal reason → HTTP status of the answer
    "oidc-attempt-missing": 400,
    "oidc-state-mismatch": 400,
    "oidc-provider-error": 403,
    "oidc-token-invalid": 403,
    "oidc-unknown-subject": 403,
    "oidc-provider-unavailable": 502,
}
ATTEMPT_MISSING = (
    "No sign-in through the identity provider was started in this browser, or it was started "
    "more than {minutes} minutes ago; start the sign-in again"
)
UNKNOWN_SUBJECT = (
    "The identity provider signed you in, but no staff account of this ledger is linked to "
    "that identity; ask an administrator to add one (newborn-ledger user add ... "
    "--oidc-subject) and try again"
)
OPERATIONS = [
    Operation(
        "/sign-in/oidc",
        "GET",
        "Staff sign-in through the identity provider: a 303 to its authorization endpoint "
        "(code flow with PKCE; a short-lived attempt cookie)",
        media=(HTML,),
        ok=303,
        ok_text="To the identity provider's authorization endpoint: see Location",
        responses={
            404: "No identity provider configured",
            502: "The identity provider could not be reached (a browser gets a page)",
        },
    ),
    Operation(
        "/sign-in/oidc/callback",
        "GET",
        "Where the identity provider sends the browser back: checks state, nonce and the "
        "id_token, then opens the staff user's session (cookie) and goes on to their page; "
        "a refusal is a page for a browser (Accept: text/html), else problem+json",
        media=(HTML,),
        responses={
            400: "No sign-in attempt in this browser, or one that does not match",
            403: "Refused: provider error, invalid id_token or no account for this identity",
            404: "No identity provider configured",
            502: "The identity provider could not be reached",
        },
    ),
]


def oidc_client(request: Request) -> OidcClient:
    client: OidcClient | None = request.app.state.oidc
    if client is None:
        raise ApiError(404, "not-found", "Sign-in through an identity provider is not set up")
    return client


async def start(request: Request) -> Response:
    client = oidc_client(request)
    try:
        url, attempt = await client.start()
    except ProviderSignInError as refused:
        return await refuse(request, refused.reason, refused.detail)
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        ATTEMPT_COOKIE,
        seal_attempt(attempt, attempt_key(client.config.client_secret)),
        max_age=client.config.attempt_s,
        path=ATTEMPT_PATH,
        secure=client.config.secure_cookie,
        httponly=True,
        samesite="lax",  # the provider sends the browser back cross-site: Strict would drop it
    )
    return response


async def callback(request: Request) -> Response:
    client = oidc_client(request)
    config = client.config
    try:
        attempt = unseal_attempt(
            request.cookies.get(ATTEMPT_COOKIE),
            attempt_key(config.client_secret),
            now=int(time.time()),
            max_age=config.attempt_s,
        )
        subject = await client.finish(attempt, dict(request.query_params))
    except AttemptError:
        detail = ATTEMPT_MISSING.format(minutes=config.attempt_s // 60)
        return await refuse(request, "oidc-attempt-missing", detail)
    except ProviderSignInError as refused:
        return await refuse(request, refused.reason, refused.detail)
    return await sign_in(request, config.issuer, subject)


async def sign_in(request: Request, issuer: str, subject: str) -> Response:
    """Open the session of the staff user linked to this subject, or refuse."""
    container: Container = request.app.state.container
    user: StaffUser | None = await run_in_threadpool(
        container.staff.user_by_oidc_subject, issuer, subject
    )
    if user is None:
        return await refuse(request, "oidc-unknown-subject", UNKNOWN_SUBJECT, attempted=subject)
    try:
        cookie, _ = await run_in_threadpool(_open, container, user)
    except SignInRefusedError as refused:  # recorded by open_session (e.g. a disabled user)
        return answer(request, 403, refused.reason, refused.detail)
    landing = landing_page(user.role)
    response = page(200, {"landing": landing, "username": user.username})
    set_session_cookie(response, container.settings, cookie)
    response.delete_cookie(ATTEMPT_COOKIE, path=ATTEMPT_PATH)
    return response


def _open(container: Container, user: StaffUser) -> tuple[str, str]:
    return open_session(container, user, method="oidc")


async def refuse(request: Request, reason: str, detail: str, *, attempted: str = "") -> Response:
    """Record the refused sign-in (the subject only as a hash), then say why."""
    container = request.app.state.container
    await run_in_threadpool(_record, container, reason, attempted)
    log.info("OIDC sign-in refused (%s)", reason)
    return answer(request, STATUS.get(reason, 403), reason, detail)


def _record(container: Container, reason: str, attempted: str) -> None:
    record_sign_in_refused(container, method="oidc", reason=reason, attempted=attempted)


def answer(request: Request, status: int, reason: str, detail: str) -> Response:
    """A page for a browser, problem+json for anything else; the attempt cookie is spent."""
    if "text/html" in request.headers.get("accept", ""):
        response: Response = page(status, {"reason": reason, "detail": detail})
    else:
        response = problem(status, reason, "Sign-in refused", detail, request.url.path)
    response.delete_cookie(ATTEMPT_COOKIE, path=ATTEMPT_PATH)
    return response


def page(status: int, values: dict[str, str]) -> HTMLResponse:
    """The callback's own page: signed in (going on to `landing`) or refused (`detail`)."""
    html = (
        environment()
        .get_template("sign_in_oidc.html")
        .render(
            reference=reference(),
            static=static_url,
            page="sign-in",
            landing=values.get("landing", ""),
            username=values.get("username", ""),
            reason=values.get("reason", ""),
            detail=values.get("detail", ""),
        )
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


ROUTES = [
    Route("/sign-in/oidc", start, methods=["GET"]),
    Route("/sign-in/oidc/callback", callback, methods=["GET"]),
]
