"""Hospital routes: FHIR messaging in (notify, correct, void) and the hospital's own cases."""

from __future__ import annotations

import logging
import re
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    CaseClosedError,
    CaseNotFoundError,
    Container,
    CorrectNotification,
    DomainError,
    IntakeRejectedError,
    Issue,
    MessageIdReusedError,
    MessageOutcome,
    NotificationConflictError,
    NotifyBirth,
    OutOfScopeError,
    ParsedMessage,
    Principal,
    VoidNotification,
    acknowledgement,
    capability_statement,
    case_id_of,
    facility_read,
    load_view,
    operation_outcome,
    parse_message,
    speaks_for,
)
from api.audit import audited
from api.auth import authenticate
from api.backpressure import PlanningLag
from api.openapi import FHIR_JSON, Operation
from api.problems import ApiError
from api.responses import FHIRResponse, ORJSONResponse
from api.threads import WorkerThreads

# Only the FHIR JSON media type (docs/hospital-integration.md): plain application/json and
# DSTU2's application/json+fhir are 415.
FHIR_MEDIA = ("application/fhir+json",)
CLIENT_CLOSED = 499  # as nginx logs it: the client closed the request before it was read
logger = logging.getLogger(__name__)
OPERATIONS = [
    Operation(
        "/fhir/$process-message",
        "POST",
        "Hospital birth notification, update or void as a FHIR message Bundle",
        roles=("hospital",),
        body="application/fhir+json",
        request_schema="Bundle",
        answer="Acknowledgement",
        media=(FHIR_JSON,),
        fhir=True,
        responses={
            400: "Not FHIR or not a message",
            403: "Facility is not the caller's",
            409: "Conflicts with the case",
            413: "Too large",
            503: "Busy: send the same message again after Retry-After seconds",
            415: "Wrong media type",
            422: "Breaks the profile",
        },
    ),
    Operation(
        "/fhir/metadata",
        "GET",
        "The FHIR CapabilityStatement of the hospital endpoint (public)",
        answer="CapabilityStatement",
        media=(FHIR_JSON,),
        fhir=True,
    ),
    Operation(
        "/cases",
        "GET",
        "The calling hospital's cases by its own record key",
        roles=("hospital",),
        params=("hospital_ref",),
        answer="HospitalCases",
        responses={
            422: "hospital_ref missing",
            503: "The read audit cannot record the read now",
        },
    ),
]


def fhir_error(
    status: int,
    code: str,
    diagnostics: str,
    expression: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Errors on FHIR routes are OperationOutcomes, not problem+json."""
    outcome = operation_outcome([Issue("error", code, diagnostics, expression)])
    return FHIRResponse(outcome, status_code=status, headers=headers)


async def _read_limited(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared and re.fullmatch(r"[0-9]{1,19}", declared) and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _apply(container: Container, parsed: ParsedMessage) -> MessageOutcome:
    ledger, cmd = container.ledger, parsed.command
    if isinstance(cmd, NotifyBirth):
        outcome = ledger.notify_birth(cmd)
    elif isinstance(cmd, CorrectNotification):
        outcome = ledger.correct_notification(cmd)
    else:
        assert isinstance(cmd, VoidNotification)
        outcome = ledger.void_notification(cmd)
    container.after_command()
    return outcome


def _domain_outcome(exc: DomainError, parsed: ParsedMessage) -> Response:
    if isinstance(exc, CaseNotFoundError):
        return fhir_error(
            422,
            "not-found",
            f"No case for record {parsed.record_ref!r} of this "
            "facility: send a birth-notification first",
            "Bundle.entry[0].resource.focus",
        )
    if isinstance(exc, MessageIdReusedError):
        return fhir_error(409, "duplicate", exc.detail, "Bundle.entry[0].resource.id")
    if isinstance(exc, NotificationConflictError | CaseClosedError):
        return fhir_error(409, "conflict", exc.detail, parsed.record_expression)
    return fhir_error(422, "business-rule", exc.detail, parsed.record_expression)


async def process_message(request: Request) -> Response:
    try:
        principal = await authenticate(request, "hospital")
    except ApiError as exc:
        return _refused_login(exc)
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media not in FHIR_MEDIA:
        return fhir_error(
            415, "not-supported", f"Send application/fhir+json, not {media or 'nothing'}"
        )
    container: Container = request.app.state.container
    try:
        raw = await _read_limited(request, container.settings.max_message_bytes)
    except ClientDisconnect:
        return _client_gone()
    if raw is None:
        return fhir_error(
            413,
            "too-costly",
            f"The message is over {container.settings.max_message_bytes} bytes",
            "Bundle",
        )
    busy = await _too_busy(request, container)
    if busy is not None:
        return busy
    # Parse, record and render in one worker thread: one hop off the event loop per message.
    threads: WorkerThreads = request.app.state.intake_threads
    return await threads.run(_intake, container, principal, raw, _fhir_version(content_type))


def _client_gone() -> Response:
    """The client hung up before its message arrived: nothing was read, nothing recorded.
    Not a server error: one log line, no traceback, and 499 in the metrics."""
    logger.info("hospital message: the client disconnected before the body was read")
    return fhir_error(CLIENT_CLOSED, "incomplete", "The client disconnected mid-upload")


def _refused_login(exc: ApiError) -> Response:
    challenge = {"WWW-Authenticate": 'Bearer realm="newborn-ledger"'}
    code, headers = ("login", challenge) if exc.status == 401 else ("not-found", None)
    return fhir_error(exc.status, code, exc.detail, headers=headers)


async def _too_busy(request: Request, container: Container) -> Response | None:
    """503 while the worker's planning backlog is over the limit: nothing is recorded, and
    the hospital sends the same message again later (it is idempotent)."""
    limit = container.settings.max_planning_lag
    if limit <= 0:
        return None
    lag: PlanningLag = request.app.state.planning_lag
    if await lag.value() <= limit:
        return None
    retry_after = str(container.settings.busy_retry_after)
    return fhir_error(
        503,
        "transient",
        f"Too many messages are waiting to be processed: send this one again in {retry_after} s",
        headers={"Retry-After": retry_after},
    )


def _fhir_version(content_type: str) -> str | None:
    """The media type's fhirVersion parameter ('application/fhir+json; fhirVersion=4.0')."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "fhirversion":
            return value.strip().strip('"') or None
    return None


def _intake(
    container: Container, principal: Principal, raw: bytes, media_version: str | None
) -> Response:
    try:
        parsed = parse_message(raw, container.ledger.clock(), media_version)
    except IntakeRejectedError as exc:
        return FHIRResponse(operation_outcome(exc.issues), status_code=exc.status)
    if not speaks_for(principal, parsed.facility_uscc):
        return fhir_error(
            403,
            "forbidden",
            "The facility's USCC is not the one this token is for",
            parsed.facility_expression,
        )
    try:
        outcome = _apply(container, parsed)
    except DomainError as exc:
        return _domain_outcome(exc, parsed)
    ack = acknowledgement(
        parsed.message_id,
        outcome.case_id,
        outcome.tracking_code,
        parsed.source_endpoint,
        timestamp=outcome.accepted_at,
        kind=parsed.kind,
        version=parsed.fhir_version,
        warnings=parsed.warnings,
    )
    return FHIRResponse(ack, headers={"Location": f"/cases/{outcome.case_id}"})


async def hospital_cases(request: Request) -> Response:
    principal = await authenticate(request, "hospital")
    ref = request.query_params.get("hospital_ref", "").strip()
    if not ref:
        raise ApiError(
            422,
            "missing-parameter",
            "Give ?hospital_ref=<your birth record key>",
            parameter="hospital_ref",
        )
    facility = facility_read(principal, request.query_params.get("facility", ""))
    views = await run_in_threadpool(
        _cases_for, request.app.state.container, principal, facility, ref
    )
    for view in views:  # the case view of the hospital's own record
        await audited(request, principal, "case", str(view["case_id"]))
    return ORJSONResponse({"cases": views})


def _cases_for(
    container: Container, principal: Principal, facility: str, ref: str
) -> list[dict[str, Any]]:
    case_id: UUID = case_id_of(facility, ref)
    try:
        return [load_view(container.ledger, principal, case_id)]
    except OutOfScopeError:
        return []


async def metadata(request: Request) -> Response:
    """The CapabilityStatement: public, as FHIR clients read it before they connect."""
    version = str(request.app.state.openapi["info"]["version"])
    return FHIRResponse(capability_statement(version))


ROUTES = [
    Route("/fhir/metadata", metadata, methods=["GET"]),
    Route("/fhir/$process-message", process_message, methods=["POST"]),
    Route("/cases", hospital_cases, methods=["GET"]),
]
