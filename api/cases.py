"""Case routes: the case view, its history and the case as it was, scoped and redacted per role."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    CASE_ROLES,
    CaseLedger,
    Container,
    Principal,
    case_history_entry,
    foreign_case,
    history_streams,
    read_case,
    with_siblings,
)
from api.audit import audited, audited_family
from api.auth import authenticate, out_of_scope
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

OPERATIONS = [
    Operation(
        "/cases/{case_id:uuid}",
        "GET",
        "The case view, redacted for the caller's role; "
        "?as_of=<ISO datetime> gives the case as it was then",
        roles=(*CASE_ROLES, "admin"),
        params=("as_of",),
        answer="Case",
        responses={
            404: "No such case",
            422: "as_of is not an ISO datetime",
            503: "The read audit cannot record the read now",
        },
    ),
    Operation(
        "/cases/{case_id:uuid}/history",
        "GET",
        "The case's event stream, redacted per role",
        roles=(*CASE_ROLES, "admin"),
        answer="History",
        responses={404: "No such case", 503: "The read audit cannot record the read now"},
    ),
]


def parse_as_of(request: Request) -> datetime | None:
    raw = request.query_params.get("as_of")
    if raw is None:
        return None
    # An unencoded "+" in a query string arrives as a space: "…T09:00:00 08:00" meant "+08:00".
    text = re.sub(r"(T[0-9:.]+) (\d{2}(?::?\d{2})?)$", r"\1+\2", raw.strip())
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            422,
            "invalid-parameter",
            "as_of is an ISO 8601 date-time, e.g. 2026-11-21T09:00:00+08:00",
            parameter="as_of",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def family_document(container: Container, principal: Principal, case_id: UUID) -> bytes:
    """The family's own case, pre-rendered by the case_status projection: one keyed read.
    Until the projection has the case (it lags by at most a tick) it is replayed instead."""
    if foreign_case(principal, case_id):
        raise out_of_scope()
    document = await container.documents.read(principal.scope)
    if document is None:
        view = await run_in_threadpool(read_case, container, principal, case_id, None)
        return orjson.dumps(view, option=orjson.OPT_NON_STR_KEYS)
    if b'"delivery"' in document:  # a child of a multiple birth: its siblings, read now
        return await run_in_threadpool(with_siblings, container, principal, case_id, document)
    return document


async def get_case(request: Request) -> Response:
    principal = await authenticate(request, *CASE_ROLES)
    as_of = parse_as_of(request)
    container, case_id = request.app.state.container, request.path_params["case_id"]
    if principal.role == "family" and as_of is None:
        body, viewers = await family_read(request, principal, case_id)
        return Response(with_viewers(body, viewers), media_type=ORJSONResponse.media_type)
    view = await run_in_threadpool(read_case, container, principal, case_id, as_of)
    await audited(request, principal, "case" if as_of is None else "as-of", case_id)
    return ORJSONResponse(view)


async def family_read(
    request: Request, principal: Principal, case_id: UUID
) -> tuple[bytes, list[dict[str, Any]]]:
    """The family's own case (its scope is the case: checked first, no I/O) read while its
    audit row commits: the answer waits for both, not one after the other."""
    if foreign_case(principal, case_id):
        raise out_of_scope()
    container = request.app.state.container
    body, viewers = await asyncio.gather(
        family_document(container, principal, case_id),
        audited_family(request, principal, case_id),
        return_exceptions=True,
    )
    if isinstance(viewers, BaseException):  # the audit's refusal first: 503 names it
        raise viewers
    if isinstance(body, BaseException):
        raise body
    return body, viewers


def with_viewers(document: bytes, viewers: list[dict[str, Any]]) -> bytes:
    """The family's case document with `viewed_by`: the offices that read the case (the
    document is a JSON object: its closing brace is replaced)."""
    field = b',"viewed_by":' + orjson.dumps(viewers) + b"}"
    return document.rstrip()[:-1] + field


def read_history(ledger: CaseLedger, principal: Principal, case_id: UUID) -> list[dict[str, Any]]:
    entries = [
        case_history_entry(principal.role, stream, event)
        for stream, event in history_streams(ledger, principal, case_id)
    ]
    return sorted(entries, key=lambda e: e["at"])


async def get_history(request: Request) -> Response:
    principal = await authenticate(request, *CASE_ROLES)
    case_id = request.path_params["case_id"]
    entries = await run_in_threadpool(
        read_history, request.app.state.container.ledger, principal, case_id
    )
    await audited(request, principal, "history", case_id)
    return ORJSONResponse({"case_id": str(case_id), "events": entries})


ROUTES = [
    Route("/cases/{case_id:uuid}", get_case, methods=["GET"]),
    Route("/cases/{case_id:uuid}/history", get_history, methods=["GET"]),
]
