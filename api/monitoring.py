"""Monitor routes: figures per place (province, city, county) and month, also per matter (each
wing's kind) and service; province-to-province flows (births', and per matter from the
receiving province to the handling one); the bad ratings to call back, for the monitor and
for the office that answers for them, and the call-back. The figures hold no personal data;
the follow-up items name cases and carry the family's comment, so their reads are audited."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    CALL_BACK_OUTCOMES,
    Principal,
    RecordCallBack,
    covers,
    follow_up_items,
    level_key,
    level_of,
    locality_figures,
    matter_flows,
    matter_kinds,
    may_see_flow,
    month_flows,
    parked_within,
    place_follow_ups,
    place_matters,
    place_sessions,
    record_call_back,
    unit_follow_ups,
)
from api.audit import audited, audited_each
from api.auth import authenticate, out_of_scope
from api.bodies import field, json_object, unknown_fields
from api.months import month_of
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

MAX_NOTE = 2000
OPERATIONS = [
    Operation(
        "/monitoring/localities/{code}",
        "GET",
        "Figures of a province (43 or 430000), a city (4306 or 430600) or a county (430602) "
        "for a month: received, decided, completed, time to result (percentiles of the pooled "
        "samples), on-time rate, ratings (each once, in the unit that answers for it); per "
        "matter (each wing's kind) and service: received, decided, approved, rejected, on "
        "time; the month's bad ratings to call back there; requests now waiting at the "
        "routing desk (the place, its province)",
        roles=("monitor",),
        params=("month",),
        answer="LocalityFigures",
        responses={404: "Outside the monitor's province", 422: "Bad month or code"},
    ),
    Operation(
        "/follow-ups",
        "GET",
        "The bad ratings the office answers for, due first: case id, service, score, the "
        "family's comment, due date, call-backs recorded (a person's token or session: not a "
        "registry system's)",
        roles=("office",),
        answer="FollowUps",
    ),
    Operation(
        "/cases/{case_id:uuid}/call-backs",
        "POST",
        "Record the call-back about the case's bad rating and its outcome (fixed, registered, "
        "explained, appealed, unreachable): a person of the unit's office or a monitor of "
        "its locality (not a registry system's token); an ended case takes it too",
        roles=("office", "monitor"),
        body="application/json",
        request_schema="CallBackRequest",
        answer="CallBack",
        ok=201,
        ok_text="Recorded",
        responses={
            404: "No bad rating on this case for this caller",
            422: "Bad outcome or note",
        },
    ),
    Operation(
        "/monitoring/flows",
        "GET",
        "Birth province → hukou province counts for a month",
        roles=("monitor",),
        params=("month",),
        answer="Flows",
        responses={422: "Bad month"},
    ),
    Operation(
        "/monitoring/matter-flows",
        "GET",
        "Receiving province → handling province per matter (each wing's kind) and service "
        "for a month: requests received and decided, and whether the flow crosses provinces; "
        "a province's monitor sees the flows that start or end in its province",
        roles=("monitor",),
        params=("month", "kind"),
        answer="MatterFlows",
        responses={422: "Bad month or kind"},
    ),
]


async def locality(request: Request) -> Response:
    principal = await authenticate(request, "monitor")
    key = level_key(request.path_params["code"])
    if key is None:
        raise ApiError(
            422,
            "invalid-parameter",
            "A place is a province (2 digits or NN0000), a city (4 digits or NNNN00) or a "
            "county (6 digits): GB/T 2260",
            parameter="code",
        )
    if not covers(principal, key):
        raise out_of_scope()
    month = month_of(request)
    container = request.app.state.container
    figures = await run_in_threadpool(locality_figures, container, key, month)
    rows = await run_in_threadpool(place_follow_ups, container, key, month)
    items = await run_in_threadpool(follow_up_items, container, rows)
    parked = await run_in_threadpool(parked_within, container, key)
    in_province = await run_in_threadpool(parked_within, container, key[:2])
    matters = await run_in_threadpool(place_matters, container, key, month)
    sessions = await run_in_threadpool(place_sessions, container, key, month)
    await _audited_items(request, principal, items)
    body = figures.to_dict() | {
        "level": level_of(key),
        # each bad rating once, in the unit that answers for it (谁办理、谁负责)
        "follow_ups": items,
        # now, not in the month: requests handled here (and in the province) that no route
        # reaches yet, waiting for a coordinator of the routing desk
        "parked": parked,
        "parked_in_province": in_province,
        # every wing's requests handled here, per matter (its totals) and service
        "matters": matters,
        # remote virtual window sessions booked, held (ended) and cancelled in the month
        "remote_window": sessions,
    }
    return ORJSONResponse(body)


async def _audited_items(
    request: Request, principal: Principal, items: list[dict[str, object]]
) -> None:
    reads = [(str(item["case_id"]), "") for item in items]
    if reads:
        await audited_each(request, principal, "follow-ups", reads)


async def office_follow_ups(request: Request) -> Response:
    # a person only: a registry system's token reads no family's complaint
    principal = await authenticate(request, "office", person=True)
    if principal.role != "office":  # an admin has no unit: the monitors' figures list them
        raise out_of_scope()
    locality, authority = principal.scope, principal.authority or ""
    container = request.app.state.container
    rows = await run_in_threadpool(unit_follow_ups, container, locality, authority)
    items = await run_in_threadpool(follow_up_items, container, rows)
    await _audited_items(request, principal, items)
    return ORJSONResponse({"locality": locality, "authority": authority, "follow_ups": items})


async def call_back(request: Request) -> Response:
    # a person only: a call-back is a person's call to the family, not a system's
    principal = await authenticate(request, "office", "monitor", person=True)
    body = await json_object(request)
    unknown_fields(body, ("outcome", "note"))
    outcome = field(body, "outcome", str) or ""
    if outcome not in CALL_BACK_OUTCOMES:
        raise ApiError(
            422,
            "invalid-field",
            f"'outcome' is one of {', '.join(CALL_BACK_OUTCOMES)}",
            field="outcome",
        )
    note = field(body, "note", str, required=False, max_length=MAX_NOTE) or ""
    cmd = RecordCallBack(request.path_params["case_id"], principal.officer, outcome, note)
    container = request.app.state.container
    at = await run_in_threadpool(record_call_back, container, principal, cmd)
    await run_in_threadpool(container.after_command)
    await audited(request, principal, "follow-ups", cmd.case_id)
    answer = {"case_id": str(cmd.case_id), "outcome": outcome, "by": cmd.by, "at": at}
    return ORJSONResponse(answer, status_code=201)


async def flows(request: Request) -> Response:
    principal = await authenticate(request, "monitor")
    month = month_of(request)
    rows = await run_in_threadpool(month_flows, request.app.state.container, month)
    visible = [
        r.to_dict() for r in rows if may_see_flow(principal, r.birth_province, r.hukou_province)
    ]
    return ORJSONResponse({"month": month, "flows": visible})


async def flows_by_matter(request: Request) -> Response:
    principal = await authenticate(request, "monitor")
    month = month_of(request)
    kind = request.query_params.get("kind") or None
    kinds = matter_kinds()
    if kind is not None and kind not in kinds:
        raise ApiError(
            422,
            "invalid-parameter",
            f"kind is one of {', '.join(kinds)}",
            parameter="kind",
        )
    rows = await run_in_threadpool(matter_flows, request.app.state.container, month, kind)
    visible = [
        r.to_dict()
        for r in rows
        if may_see_flow(principal, r.receiving_province, r.handling_province)
    ]
    return ORJSONResponse({"month": month, "kind": kind, "flows": visible})


ROUTES = [
    Route("/monitoring/localities/{code}", locality, methods=["GET"]),
    Route("/monitoring/flows", flows, methods=["GET"]),
    Route("/monitoring/matter-flows", flows_by_matter, methods=["GET"]),
    Route("/follow-ups", office_follow_ups, methods=["GET"]),
    Route("/cases/{case_id:uuid}/call-backs", call_back, methods=["POST"]),
]
