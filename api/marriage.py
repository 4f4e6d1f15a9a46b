"""Marriage registration routes: the couple (or a window clerk for them) opens the case, and
the applicants, its offices and the admin follow it."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    Container,
    MarriagePartyDetails,
    Principal,
    RegisterMarriage,
    check_marriage,
    marriage_case,
    marriage_materials_to_bring,
    marriage_problem_item,
    marriage_problems,
    open_marriage,
)
from api.audit import audited
from api.auth import SESSION_COOKIE, authenticate
from api.bodies import json_object, unknown_refusals
from api.family_form import Form
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse
from api.tracking import Throttle

FIELDS = ("party_a", "party_b", "registration_place", "permit_holder")
PARTY_FIELDS = ("name", "citizen_id", "hukou_division", "residence_division", "phone")
MAX_NAME, MAX_ID, MAX_DIVISION, MAX_PHONE = 50, 18, 12, 20
APPLICATIONS_PER_HOUR = 10  # online applications from one client address
WINDOW_S = 3600.0
READERS = ("family", "office", "admin")
OPERATIONS = [
    Operation(
        "/marriage-registrations",
        "POST",
        "Apply for marriage registration across provinces (婚姻登记“跨省通办”): online without "
        "a token (throttled per client address), or by a window clerk of the registering "
        "civil-affairs office (its token or session: the identity check is recorded as "
        "'window'); both parties, the registration place",
        body="application/json",
        request_schema="MarriageApplication",
        answer="MarriageOpened",
        ok=201,
        ok_text="The case is opened: its id, tracking code and where to follow it",
        responses={
            401: "A token was sent and is unknown or revoked",
            403: "A clerk of another office than the registering civil-affairs office",
            404: "A token of a role that does not apply for others",
            422: "Every problem of the form at once (errors[], each with its JSON pointer)",
            429: f"More than {APPLICATIONS_PER_HOUR} online applications from this address in "
            "an hour: Retry-After says when to try again",
        },
    ),
    Operation(
        "/marriage-registrations/{case_id:uuid}",
        "GET",
        "The marriage case: state, each service's request with its state, who acts next and "
        "by when, results; the applicants (family token from POST /track), the offices its "
        "requests are routed to or received by (each sees only the parties its requests were "
        "shown), the admin",
        roles=READERS,
        answer="MarriageCase",
        responses={404: "No such case, or not the caller's"},
    ),
]


def _details(form: Form, who: str) -> MarriagePartyDetails:
    raw = form.body.get(who)
    if not isinstance(raw, dict):
        form.refused.append(
            ApiError(422, "missing-field" if raw is None else "invalid-field", f"'{who}' is "
                     "required: an object with name, citizen_id, hukou_division, "
                     "residence_division and an optional phone", field=who)
        )  # fmt: skip
        return MarriagePartyDetails("", "", "", "")
    form.refused.extend(unknown_refusals(raw, PARTY_FIELDS, who))
    party = Form(raw)
    limits = {"name": MAX_NAME, "citizen_id": MAX_ID, "phone": MAX_PHONE}
    values = {
        name: party.read(name, str, required=name != "phone", limit=limits.get(name, MAX_DIVISION))
        for name in PARTY_FIELDS
    }
    for refused in party.refused:
        refused.context["field"] = f"{who}.{refused.context.get('field', '')}"
        form.refused.append(refused)
    return MarriagePartyDetails(
        values["name"] or "",
        values["citizen_id"] or "",
        values["hukou_division"] or "",
        values["residence_division"] or "",
        values["phone"],
    )


def application(body: dict[str, Any]) -> tuple[RegisterMarriage, Form]:
    """The command from the body, every refusal of its form kept in the Form."""
    form = Form(body)
    form.refused.extend(unknown_refusals(body, FIELDS))  # named with the rest, not instead
    a, b = _details(form, "party_a"), _details(form, "party_b")
    place = form.read("registration_place", str, required=True, limit=MAX_NAME)
    holder = form.read("permit_holder", str, required=False, limit=1)
    return RegisterMarriage(a, b, place or "", holder), form


def all_problems(cmd: RegisterMarriage, form: Form) -> ApiError:
    """One 422 naming every problem: the form's refused fields, then the rules the others
    break (RFC 9457 `errors`, each with a JSON pointer)."""
    broken = marriage_problems(cmd, _refused_fields(form))
    items = form.items() + [marriage_problem_item(error) for error in broken]
    return form.answer(items)


def _refused_fields(form: Form) -> frozenset[str]:
    """The dotted names refused (`party_a.name`), and their objects when wholly refused."""
    return frozenset(str(r.context.get("field", "")) for r in form.refused)


async def _clerk(request: Request) -> Principal | None:
    """The window clerk applying for the couple (None: an online application)."""
    if not request.headers.get("authorization") and SESSION_COOKIE not in request.cookies:
        return None
    return await authenticate(request, "office", person=True)


def _throttled(request: Request) -> tuple[Throttle, str, float]:
    """Count the online application against its address (429 past the limit): the throttle,
    the key and the time, for taking the count back when no case was opened."""
    throttle: Throttle = request.app.state.marriage_throttle
    address = request.client.host if request.client else "-"
    key = f"apply:{address}"
    if (at := throttle.attempt(key)) is None:  # every application opened counts
        wait = str(throttle.retry_after(key))
        raise ApiError(
            429,
            "too-many-applications",
            f"Too many applications from this address; try again in {wait} seconds",
            headers={"Retry-After": wait},
            retry_after=int(wait),
        )
    return throttle, key, at


async def apply(request: Request) -> Response:
    clerk = await _clerk(request)
    body = await json_object(request)
    cmd, form = application(body)
    if form.refused:
        raise all_problems(cmd, form)
    checked = check_marriage(cmd)  # raises every rule broken at once (422)
    counted = _throttled(request) if clerk is None else None
    if clerk is not None and (
        clerk.authority != "civil-affairs" or clerk.scope != checked.registration_division
    ):
        raise ApiError(
            403,
            "not-receiving-office",
            "Only a clerk of the registering civil-affairs office applies for a couple",
            registration_division=checked.registration_division,
        )
    container: Container = request.app.state.container
    try:
        case_id, code = await run_in_threadpool(open_marriage, container, cmd, clerk)
    except BaseException:
        if counted is not None:  # nothing opened: the application does not count
            throttle, key, at = counted
            throttle.succeeded(key, at=at)
        raise
    follow = f"/marriage-registrations/{case_id}"
    answer = {
        "case_id": str(case_id),
        "tracking_code": code,
        "registration_division": checked.registration_division,
        "identity_check": "online" if clerk is None else "window",
        "bring": marriage_materials_to_bring(cmd.registration_place),
        "follow": {
            "page": "/track",
            "sign_in": "POST /track with the tracking code and the last 6 characters of "
            "either party's citizen ID (or a phone given)",
            "case": follow,
        },
    }
    return ORJSONResponse(answer, status_code=201, headers={"Location": follow})


async def read(request: Request) -> Response:
    principal = await authenticate(request, *READERS)
    case_id = request.path_params["case_id"]
    container: Container = request.app.state.container
    view = await run_in_threadpool(marriage_case, container, principal, case_id)
    await audited(request, principal, "case", case_id)
    return ORJSONResponse(view)


ROUTES = [
    Route("/marriage-registrations", apply, methods=["POST"]),
    Route("/marriage-registrations/{case_id:uuid}", read, methods=["GET"]),
]
