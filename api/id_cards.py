"""ID cards issued off-site (居民身份证异地受理): the police window clerk's application and the
case's read (docs/api.md, ID cards). The office steps on its requests (the window's receipt,
the hukou place's decision, the card's arrival and collection at the window) are the
kernel's: POST /service-requests/{id}/{receive|approve|...} (api/offices.py)."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    Container,
    Principal,
    id_card_problems,
    id_card_view,
    id_card_window_command,
    open_id_card,
)
from api.audit import audited
from api.auth import authenticate
from api.bodies import json_object, unknown_refusals
from api.family_form import Form
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

WINDOW_AUTHORITY = "public-security"
FIELDS = (
    "name",
    "citizen_id",
    "phone",
    "hukou_division",
    "reason",
    "identity_document",
    "temporary_id_card",
)
MAX_NAME, MAX_ID, MAX_PHONE, MAX_DIVISION, MAX_WORD = 64, 18, 11, 6, 32
OPERATIONS = [
    Operation(
        "/id-card-applications",
        "POST",
        "A police window clerk opens an ID card case for the applicant at the window (photo "
        "and fingerprints taken there; the clerk's identity check is recorded): the clerk's "
        "county is the applying place, the hukou county's police decide and make the card, "
        "the card comes back to this window; a temporary card when asked",
        roles=("office",),
        body="application/json",
        request_schema="IdCardApplication",
        answer="IdCardOpened",
        ok=201,
        ok_text="Created: the case id and the applicant's tracking code",
        responses={
            404: "Not a public-security office (or not a person: a registry system)",
            422: "Every problem of the application at once (errors[], each with its pointer)",
        },
    ),
    Operation(
        "/id-card-applications/{case_id:uuid}",
        "GET",
        "An ID card case: its state, each step with who acts next and by when, where the "
        "card is (being decided, produced, in transit, arrived, collected) and the temporary "
        "card. The applicant (family token from POST /track) and an admin see it whole; an "
        "office only its own steps with the fields dispatched to it",
        roles=("family", "office", "admin"),
        answer="IdCardCase",
        responses={404: "No such case for this caller (the same for another's)"},
    ),
]


def _command(principal: Principal, form: Form) -> Any:
    """The clerk's command from the form; a refused field holds a placeholder."""
    text = partial(form.read, kind=str)
    return id_card_window_command(
        principal,
        name=text("name", required=True, limit=MAX_NAME) or "",
        citizen_id=text("citizen_id", required=True, limit=MAX_ID) or "",
        phone=text("phone", required=False, limit=MAX_PHONE),
        hukou_division=text("hukou_division", required=True, limit=MAX_DIVISION) or "",
        reason=text("reason", required=True, limit=MAX_WORD) or "",
        document=text("identity_document", required=True, limit=MAX_WORD) or "",
        temporary=bool(form.read("temporary_id_card", bool, required=False, limit=0)),
    )


def _all_problems(cmd: Any, form: Form) -> ApiError | None:
    """One 422 naming every problem: the refused fields, then the rules the others break
    (RFC 9457 `errors`, each with its JSON pointer); None when there is none."""
    broken = id_card_problems(cmd, form.fields())
    items = form.items() + [
        {"pointer": f"/{e.context.get('field', '')}", "code": e.code, "detail": e.detail}
        | e.context
        for e in broken
    ]
    if not items:
        return None
    return form.answer(items)


async def apply(request: Request) -> Response:
    principal = await authenticate(request, "office", person=True)
    if principal.authority != WINDOW_AUTHORITY:
        raise ApiError(404, "not-found", "Nothing here for this caller")
    body = await json_object(request)
    form = Form(body)
    form.refused.extend(unknown_refusals(body, FIELDS))  # named with the rest, not instead
    cmd = _command(principal, form)
    if (problems := _all_problems(cmd, form)) is not None:
        raise problems
    container: Container = request.app.state.container
    opened = await run_in_threadpool(open_id_card, container, principal, cmd)
    return ORJSONResponse(opened, status_code=201)


async def read(request: Request) -> Response:
    principal = await authenticate(request, "family", "office", "admin")
    case_id = request.path_params["case_id"]
    container: Container = request.app.state.container
    view = await run_in_threadpool(id_card_view, container, principal, case_id)
    await audited(request, principal, "case", case_id)
    return ORJSONResponse(view)


ROUTES = [
    Route("/id-card-applications", apply, methods=["POST"]),
    Route("/id-card-applications/{case_id:uuid}", read, methods=["GET"]),
]
