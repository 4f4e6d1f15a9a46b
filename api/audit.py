"""The read audit: `audited` records a read of a case's personal data before it is answered
(adapters/audit_log.py commits the rows in groups); `GET /audit` (admin) queries the rows,
`GET /monitoring/reads` (monitor) counts each office's reads in a month."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    AuditBusyError,
    AuditFilter,
    Container,
    OfficeReads,
    Principal,
    ReadRecord,
    covers,
)
from api.auth import authenticate, out_of_scope
from api.inputs import query_number as _number
from api.months import month_of
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

WAIT_S = 10.0  # a read waits this long for its row's commit, then is refused (503)
RETRY_AFTER = "1"
UNAVAILABLE = "The read audit cannot record this read now; it was not answered"
MAX_LIMIT = 500
USER = re.compile(r"[\w.@+-]{1,128}", re.ASCII)
PLACE = re.compile(r"[1-8]\d(\d\d){0,2}", re.ASCII)  # a province, a city or a county
CHINA = timedelta(hours=8)
OPERATIONS = [
    Operation(
        "/audit",
        "GET",
        "Reads of personal data, oldest first: who (actor, role, kind, user, scope, "
        "authority), when, what, which case and target, via api or page; `next` is the cursor",
        roles=("admin",),
        params=("case", "user", "actor", "from", "to", "after", "limit"),
        answer="AuditRows",
        responses={422: "A bad query parameter"},
    ),
    Operation(
        "/monitoring/reads",
        "GET",
        "Per office in the monitor's scope: its reads of personal data in a month, by what",
        roles=("monitor",),
        params=("month", "locality"),
        answer="OfficeReads",
        responses={404: "Outside the monitor's province", 422: "Bad month or locality"},
    ),
]


def via(request: Request) -> str:
    """`page` when a browser's page on this origin asked (Sec-Fetch-Site, sent by browsers,
    or the staff session cookie), else `api`."""
    if request.headers.get("sec-fetch-site") == "same-origin" or "nl_session" in request.cookies:
        return "page"
    return "api"


def unavailable() -> ApiError:
    return ApiError(503, "audit-unavailable", UNAVAILABLE, headers={"Retry-After": RETRY_AFTER})


def record_of(
    request: Request, principal: Principal, what: str, case_id: object, target: str
) -> ReadRecord:
    return ReadRecord(
        at=time.time(),
        actor_id=str(principal.actor_id),
        role=principal.role,
        kind=principal.kind,
        user=principal.user,
        scope=principal.scope,
        authority=principal.authority or "",
        what=what,
        case_id=str(case_id or ""),
        target=str(target),
        via=via(request),
    )


async def audited(
    request: Request, principal: Principal, what: str, case_id: UUID | str, target: str = ""
) -> None:
    """Record that `principal` read `what` of `case_id` (and `target`, a request or document
    id); returns once the row is durable. 503 problem (ApiError) when it cannot be."""
    await _submit(request, record_of(request, principal, what, case_id, target), viewers=False)


async def audited_each(
    request: Request, principal: Principal, what: str, reads: list[tuple[str, str]]
) -> None:
    """Record one row per distinct (case id, target) read together (a feed page's messages:
    each its case and request), all durable before the answer; 503 when any cannot be."""
    distinct = list(dict.fromkeys(reads))
    await asyncio.gather(
        *(
            _submit(request, record_of(request, principal, what, case, target), viewers=False)
            for case, target in distinct
        )
    )


async def audited_family(
    request: Request, principal: Principal, case_id: UUID
) -> list[dict[str, Any]]:
    """The family's read of its case, recorded; answers the offices that have read the case."""
    record = record_of(request, principal, "case", case_id, "")
    return await _submit(request, record, viewers=True)


async def _submit(request: Request, record: ReadRecord, *, viewers: bool) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[list[dict[str, Any]]] = loop.create_future()

    def done(seen: list[Any] | None, error: BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle, future, seen, error)

    container: Container = request.app.state.container
    try:
        container.audit.submit(record, done, viewers=viewers)
    except AuditBusyError:
        raise unavailable() from None
    try:
        return await asyncio.wait_for(future, WAIT_S)
    except (TimeoutError, AuditBusyError):
        raise unavailable() from None


def _settle(
    future: asyncio.Future[list[dict[str, Any]]],
    seen: list[Any] | None,
    error: BaseException | None,
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(AuditBusyError(type(error).__name__))
    else:
        future.set_result([v.to_dict() for v in seen or []])


def _moment(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        # an unencoded "+" of an offset arrives as a space (as in api/cases.py's as_of)
        text = re.sub(r"(T[0-9:.]+) (\d{2}(?::?\d{2})?)$", r"\1+\2", raw.strip())
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            422,
            "invalid-parameter",
            f"{name} is an ISO 8601 date or date-time, e.g. 2026-11-21T09:00:00+08:00",
            parameter=name,
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _uuid(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return str(UUID(raw))
    except ValueError:
        raise ApiError(422, "invalid-parameter", f"{name} is a UUID", parameter=name) from None


def audit_filter(request: Request) -> AuditFilter:
    """GET /audit's query, checked (422 naming the parameter)."""
    user = request.query_params.get("user")
    if user is not None and not USER.fullmatch(user):
        raise ApiError(422, "invalid-parameter", "user is a username", parameter="user")
    start, end = _moment(request, "from"), _moment(request, "to")
    if start is not None and end is not None and end < start:
        raise ApiError(422, "invalid-parameter", "to is before from", parameter="to")
    return AuditFilter(
        case_id=_uuid(request, "case"),
        user=user,
        actor_id=_uuid(request, "actor"),
        start=start,
        end=end,
        after=_number(request, "after", 0, 10**18),
        limit=_number(request, "limit", 100, MAX_LIMIT, low=1),
    )


async def audit(request: Request) -> Response:
    await authenticate(request, "admin")
    query = audit_filter(request)
    container: Container = request.app.state.container
    more = replace(query, limit=query.limit + 1)  # one more: is there a next page?
    rows = await run_in_threadpool(container.audit.store.search, more)
    page = rows[: query.limit]
    body = {
        "rows": [r.to_dict() for r in page],
        "next": page[-1].id if len(rows) > query.limit else None,
    }
    return ORJSONResponse(body)


def month_bounds(month: str) -> tuple[float, float]:
    """A month in China time (UTC+8), in epoch seconds: [start, end)."""
    year, number = int(month[:4]), int(month[5:])
    start = datetime(year, number, 1, tzinfo=UTC) - CHINA
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC) - CHINA
    return start.timestamp(), following.timestamp()


def by_office(rows: list[OfficeReads]) -> list[dict[str, Any]]:
    offices: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        office = offices.setdefault(
            (r.locality, r.authority),
            {"locality": r.locality, "authority": r.authority, "reads": 0, "by_what": {}},
        )
        office["reads"] += r.reads
        office["by_what"][r.what] = {"reads": r.reads, "cases": r.cases}
    return list(offices.values())


async def office_reads(request: Request) -> Response:
    principal = await authenticate(request, "monitor")
    month = month_of(request)
    place = request.query_params.get("locality")
    if place is not None and not PLACE.fullmatch(place):
        raise ApiError(
            422, "invalid-parameter", "locality is a 2-, 4- or 6-digit code", parameter="locality"
        )
    if place is not None and not covers(principal, place):
        raise out_of_scope()
    prefix = place or ("" if principal.scope == "national" else principal.scope)
    container: Container = request.app.state.container
    start, end = month_bounds(month)
    rows = await run_in_threadpool(container.audit.store.office_reads, prefix, start, end)
    return ORJSONResponse(
        {"month": month, "scope": prefix or "national", "offices": by_office(rows)}
    )


ROUTES = [
    Route("/audit", audit, methods=["GET"]),
    Route("/monitoring/reads", office_reads, methods=["GET"]),
]
