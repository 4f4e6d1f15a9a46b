"""Family routes: the one application, the rating, the guide and the division picker."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache, partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    ApplyAsFamily,
    CloseCase,
    Container,
    InvalidIdentifierError,
    Principal,
    RateService,
    application_problems,
    case_answer,
    division_path,
    divisions,
    family_guide,
    foreign_case,
    load_view,
    may_rate,
    problem_item,
)
from api.audit import audited
from api.auth import authenticate, out_of_scope
from api.bodies import field, json_object, unknown_fields
from api.family_form import Form
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

APPLICATION_FIELDS = (
    "child_name",
    "household",
    "residence_division",
    "insured_division",
    "consent",
    "contact_phone",
    "mother_insured_division",
    "mother_insured",
    "evidence",  # sent again to correct it: references to evidence already stored
)
MAX_NAME, MAX_DIVISION, MAX_PHONE, MAX_COMMENT = 50, 12, 20, 500
MAX_CLOSE_REASON = 500
CHINA = timezone(timedelta(hours=8))
LEVELS = {0: "province", 2: "city", 4: "county", 6: "county"}  # what the picker lists
OPERATIONS = [
    Operation(
        "/divisions",
        "GET",
        "The division picker (public reference data, GB/T 2260): provinces; with parent=43 "
        "its cities; with parent=4306 (or 430600) its counties; names as of `on` (YYYY-MM-DD, "
        "default today); cached a day",
        params=("parent", "on"),
        answer="Divisions",
        responses={422: "parent or on is malformed"},
    ),
    Operation(
        "/cases/{case_id:uuid}/guide",
        "GET",
        "Family: overall progress, why each service waits (on which result), where and how "
        "to collect each result, what to bring",
        roles=("family", "admin"),
        answer="FamilyGuide",
        responses={404: "No such case", 503: "The read audit cannot record the read now"},
    ),
    Operation(
        "/cases/{case_id:uuid}/family-application",
        "POST",
        "The family's one application: name, household, residence, insured place, consent "
        "(sent again: a correction, with its evidence)",
        roles=("family", "admin"),
        body="application/json",
        request_schema="FamilyApplication",
        answer="Case",
        responses={
            404: "No such case",
            409: "Case closed",
            422: "A rule is broken",
            503: "The read audit cannot record the read now",
        },
    ),
    Operation(
        "/cases/{case_id:uuid}/rating",
        "POST",
        "Rate the case 1-5 once, after it completed or closed (any wing's case: a newborn "
        "bundle, a marriage registration, an ID card application)",
        roles=("family",),
        body="application/json",
        request_schema="RatingRequest",
        answer="Rating",
        ok=201,
        ok_text="Rated",
        responses={404: "No such case", 409: "Not completed or closed, or already rated"},
    ),
    Operation(
        "/cases/{case_id:uuid}/close",
        "POST",
        "Close the case after a rejection instead of resubmitting (nothing else can proceed); "
        "answers the case as its wing shows it (births' case view, or the marriage or ID "
        "card case)",
        roles=("family", "admin"),
        body="application/json",
        request_schema="CloseRequest",
        answer="ClosedCase",
        responses={
            404: "No such case",
            409: "Nothing was rejected, other services can still proceed, or the case is closed",
            422: "Invalid body",
            503: "The read audit cannot record the read now",
        },
    ),
]


def _own_case(principal: Principal, request: Request) -> None:
    if foreign_case(principal, request.path_params["case_id"]):
        raise out_of_scope()


def _application(request: Request, form: Form) -> ApplyAsFamily:
    """The command from the form; a refused field holds a placeholder its check skips."""
    text = partial(form.read, kind=str)
    return ApplyAsFamily(
        case_id=request.path_params["case_id"],
        child_name=text("child_name", required=True, limit=MAX_NAME) or "",
        household=text("household", required=True, limit=MAX_NAME) or "",
        residence_division=text("residence_division", required=True, limit=MAX_DIVISION) or "",
        insured_division=text("insured_division", required=False, limit=MAX_DIVISION),
        consent=bool(form.read("consent", bool, required=True, limit=0)),
        contact_phone=text("contact_phone", required=False, limit=MAX_PHONE),
        mother_insured_division=text("mother_insured_division", required=False, limit=MAX_DIVISION),
        mother_insured=bool(form.read("mother_insured", bool, required=False, limit=0)),
        evidence=form.evidence(),
    )


def _all_problems(container: Container, cmd: ApplyAsFamily, form: Form) -> ApiError:
    """One 422 naming every problem of the form: its refused fields, then the rules the
    other fields break (RFC 9457 `errors`, each with a JSON pointer)."""
    case = container.ledger.get_case(cmd.case_id)
    broken = application_problems(cmd, case.facts, form.fields())
    items = form.items() + [problem_item(error) for error in broken]
    if len(items) == 1:  # one problem: answered as itself (its own type), listed as well
        form.refused[0].context["errors"] = items
        return form.refused[0]
    details = "; ".join(str(item["detail"]) for item in items)
    return ApiError(
        422,
        "invalid-application",
        f"{len(items)} problem(s) in the application: {details}",
        field=items[0].get("field") or items[0]["pointer"].lstrip("/"),
        errors=items,
    )


async def family_application(request: Request) -> Response:
    principal = await authenticate(request, "family")
    _own_case(principal, request)
    body = await json_object(request)
    unknown_fields(body, APPLICATION_FIELDS)
    form = Form(body)
    cmd = _application(request, form)
    container = request.app.state.container
    if form.refused:
        raise await run_in_threadpool(_all_problems, container, cmd, form)
    await run_in_threadpool(container.ledger.apply_as_family, cmd)
    await run_in_threadpool(container.after_command)
    view = await run_in_threadpool(load_view, container.ledger, principal, cmd.case_id)
    await audited(request, principal, "case", cmd.case_id)  # the answer is the case view
    return ORJSONResponse(view, status_code=200)


async def rating(request: Request) -> Response:
    principal = await authenticate(request, "family")
    if not may_rate(principal, request.path_params["case_id"]):
        raise out_of_scope()
    body = await json_object(request)
    unknown_fields(body, ("score", "comment"))
    score = field(body, "score", int)
    if not 1 <= int(score or 0) <= 5:
        raise ApiError(422, "invalid-field", "'score' is a whole number from 1 to 5", field="score")
    comment = field(body, "comment", str, required=False, max_length=MAX_COMMENT) or ""
    cmd = RateService(request.path_params["case_id"], int(score or 0), comment)
    container = request.app.state.container
    await run_in_threadpool(container.ledger.rate, cmd)
    await run_in_threadpool(container.after_command)
    return ORJSONResponse({"case_id": str(cmd.case_id), "score": cmd.score}, status_code=201)


async def close(request: Request) -> Response:
    principal = await authenticate(request, "family")
    _own_case(principal, request)
    body = await json_object(request)
    unknown_fields(body, ("reason",))
    reason = field(body, "reason", str, required=False, max_length=MAX_CLOSE_REASON) or ""
    cmd = CloseCase(request.path_params["case_id"], "family", reason)
    container = request.app.state.container
    await run_in_threadpool(container.ledger.close_as_family, cmd)
    await run_in_threadpool(container.after_command)
    view = await run_in_threadpool(case_answer, container, principal, cmd.case_id)
    await audited(request, principal, "case", cmd.case_id)  # the answer is the case view
    return ORJSONResponse(view, status_code=200)


def _day(request: Request) -> date:
    text = request.query_params.get("on")
    if not text:
        return datetime.now(CHINA).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(422, "invalid-parameter", "on is YYYY-MM-DD", parameter="on") from None


@lru_cache(maxsize=4096)
def _level(parent: str | None, year: int) -> dict[str, Any]:
    """One level of the picker (a year's names do not change: cached per process)."""
    shown = divisions(parent, date(year, 7, 1))
    above = division_path(parent.ljust(6, "0"), date(year, 7, 1)) if parent else []
    return {
        "parent": {"code": above[-1].code, "name": above[-1].name} if above else None,
        "path": [{"code": d.code, "name": d.name} for d in above],
        "level": LEVELS[len(parent or "")],
        "divisions": [{"code": d.code, "name": d.name} for d in shown],
    }


async def division_picker(request: Request) -> Response:
    """Public reference data (no case data): the provinces, a province's cities or a city's
    counties, named as they were on `on` (default today, China time)."""
    parent = request.query_params.get("parent") or None
    on = _day(request)
    try:
        level = _level(parent, on.year)
    except InvalidIdentifierError as refused:
        raise ApiError(422, "invalid-parameter", refused.detail, parameter="parent") from None
    return ORJSONResponse(
        {"on": on.isoformat(), **level}, headers={"Cache-Control": "public, max-age=86400"}
    )


async def case_guide(request: Request) -> Response:
    """How far the case is, why each service waits, where and how to collect each result
    (services, offices and the localities handling the case: a read of the case, audited
    as the case view is, the family's own reads too)."""
    principal = await authenticate(request, "family")
    _own_case(principal, request)
    container = request.app.state.container
    case_id = request.path_params["case_id"]
    view = await run_in_threadpool(load_view, container.ledger, principal, case_id)
    await audited(request, principal, "guide", case_id)
    guide = family_guide(view.get("services") or [])
    return ORJSONResponse({"case_id": str(case_id), "state": view["state"], **guide})


ROUTES = [
    Route("/divisions", division_picker, methods=["GET"]),
    Route("/cases/{case_id:uuid}/guide", case_guide, methods=["GET"]),
    Route("/cases/{case_id:uuid}/family-application", family_application, methods=["POST"]),
    Route("/cases/{case_id:uuid}/rating", rating, methods=["POST"]),
    Route("/cases/{case_id:uuid}/close", close, methods=["POST"]),
]
