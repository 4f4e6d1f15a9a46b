"""Office routes: the decisions on one service request (receive, supplement, approve, reject),
and after a decision: a correction approved or rejected, a result revoked."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import RecordConflictError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    ACTIONS,
    FAMILY_ACTIONS,
    AnswerKey,
    Approve,
    ApproveCorrection,
    CaseLedger,
    Container,
    DomainError,
    EvidenceRef,
    IdempotencyKeyReusedError,
    OfficeCommand,
    Principal,
    Receive,
    Reject,
    RejectCorrection,
    RequestSupplement,
    Resubmit,
    Revoke,
    ServiceRequestNotFoundError,
    Supplement,
    carry_out,
    may_act,
    request_fields,
    unknown_evidence,
)
from api.auth import authenticate, out_of_scope
from api.bodies import check_length, field, json_object, required_str, unknown_fields
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

MAX_RECEIPT = 64  # a window's receipt number (受理编号)
MAX_ITEMS, MAX_ITEM = 30, 200  # a supplement notice lists every item at once (一次性告知)
MAX_BASIS = 500
MAX_REASON = 500  # why a second notice: the facts corrected since the family's answer
MAX_EVIDENCE, MAX_EVIDENCE_ID = 20, 128  # references to evidence already stored
UPLOAD_FIELDS = ("type", "size", "name")  # an upload's answer, cited as it is (not recorded)
SHA256 = frozenset("0123456789abcdef")
MAX_KEY = 200  # an Idempotency-Key: 1 to 200 visible ASCII characters
KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": "^[!-~]+$"}
REPLAYED = "Idempotent-Replayed"
OPERATIONS = [
    Operation(
        f"/service-requests/{{service_request_id:uuid}}/{action}",
        "POST",
        f"Office step: {action}",
        roles=("office",) + (("family",) if action in FAMILY_ACTIONS else ()),
        body="application/json",
        answer="ServiceRequest",
        headers=(("Idempotency-Key", KEY_SCHEMA),),
        ok_headers=((REPLAYED, "'true' when this is the first answer to the same key and body"),),
        responses={
            400: (
                "The body is not a JSON object, the path holds a control character, or the "
                "Idempotency-Key is not 1 to 200 visible ASCII characters"
            ),
            404: "No such request for this office",
            409: (
                "Not allowed in this state, or idempotency-key-reused: the Idempotency-Key "
                "was sent before with another body"
                + (
                    " (one-time-notice: a second notice without new facts or a reason; "
                    "deemed-accepted: the notice period lapsed)"
                    if action == "request-supplement"
                    else ""
                )
            ),
            422: "Invalid body or result",
        },
    )
    for action in ACTIONS
]


def _command(
    request_id: UUID, action: str, principal: Principal, body: dict[str, Any]
) -> OfficeCommand:
    """The office command an HTTP action asks for, its body checked."""
    officer = principal.officer  # a registry system's steps name the system
    if action == "receive":
        unknown_fields(body, ("receipt_number",))
        receipt = required_str(body, "receipt_number", max_length=MAX_RECEIPT)
        return Receive(request_id, officer, receipt)
    if action == "request-supplement":
        unknown_fields(body, ("items", "reason"))
        reason = field(body, "reason", str, required=False, max_length=MAX_REASON) or ""
        return RequestSupplement(request_id, officer, _items(body), reason.strip())
    if action == "supplement":
        unknown_fields(body, ("items", "evidence"))
        return Supplement(request_id, officer, _items(body), evidence_refs(body))
    if action == "reject":
        unknown_fields(body, ("reason", "basis"))
        reason = required_str(body, "reason")
        basis = required_str(body, "basis", max_length=MAX_BASIS)  # its legal basis (an article)
        return Reject(request_id, officer, reason, basis)
    if action == "resubmit":
        unknown_fields(body, ())
        return Resubmit(request_id, officer)
    if action == "reject-correction":
        unknown_fields(body, ("reason",))
        return RejectCorrection(request_id, officer, required_str(body, "reason"))
    if action == "revoke":
        unknown_fields(body, ())
        return Revoke(request_id, officer)
    if action == "approve-correction":
        return ApproveCorrection(request_id, officer, body)
    return Approve(request_id, officer, body)


def _items(body: dict[str, Any]) -> tuple[str, ...]:
    items = field(body, "items", list) or []
    if not items or not all(isinstance(i, str) and i.strip() for i in items):
        raise ApiError(
            422, "invalid-field", "'items' is a non-empty list of strings", field="items"
        )
    if len(items) > MAX_ITEMS:
        raise ApiError(422, "too-long", f"'items' lists at most {MAX_ITEMS} items", field="items")
    for index, item in enumerate(items):
        check_length(item, f"items[{index}]", MAX_ITEM)
    return tuple(i.strip() for i in items)


def evidence_refs(body: dict[str, Any]) -> tuple[EvidenceRef, ...]:
    """References to evidence already stored: `[{"id": ..., "sha256": ...}]` (the hash
    optional, 64 lower-case hex digits); the files themselves are uploaded elsewhere
    (POST /cases/{id}/documents, whose answer may be cited whole: its type, size and name
    are not recorded)."""
    refs = field(body, "evidence", list, required=False) or []
    if len(refs) > MAX_EVIDENCE:
        raise ApiError(
            422, "too-long", f"'evidence' lists at most {MAX_EVIDENCE} items", field="evidence"
        )
    found: list[EvidenceRef] = []
    for index, ref in enumerate(refs):
        name = f"evidence[{index}]"
        if not isinstance(ref, dict):
            raise ApiError(422, "invalid-field", f"'{name}' is an object", field=name)
        unknown_fields(ref, ("id", "sha256", *UPLOAD_FIELDS))
        ref_id = field(ref, "id", str, max_length=MAX_EVIDENCE_ID) or ""
        digest = (field(ref, "sha256", str, required=False, max_length=64) or "").lower()
        if not ref_id.strip():
            raise ApiError(422, "invalid-field", f"'{name}.id' is empty", field=f"{name}.id")
        if digest and (len(digest) != 64 or not set(digest) <= SHA256):
            raise ApiError(
                422,
                "invalid-field",
                f"'{name}.sha256' is 64 hexadecimal digits",
                field=f"{name}.sha256",
            )
        found.append(EvidenceRef(ref_id.strip(), digest))
    return tuple(found)


def decide(
    ledger: CaseLedger, principal: Principal, action: str, cmd: OfficeCommand
) -> tuple[dict[str, Any], bool]:
    """The request as the step left it, and whether that is the first answer to the same
    Idempotency-Key and body (nothing recorded again)."""
    try:
        request = ledger.get_request(cmd.service_request_id)
    except ServiceRequestNotFoundError:
        raise out_of_scope() from None
    allowed = may_act(principal, request, action)
    if (first := _first_answer(ledger, cmd, allowed)) is not None:
        return first, True
    if not allowed:
        raise out_of_scope()
    try:
        return request_fields(carry_out(ledger, cmd)), False
    except (RecordConflictError, DomainError):
        # a concurrent send of the same key recorded its step first: this one conflicted on
        # the answer's id or the request's version, or found the step already taken
        if (first := _first_answer(ledger, cmd, allowed)) is None:
            raise
        return first, True


def _first_answer(ledger: CaseLedger, cmd: OfficeCommand, allowed: bool) -> dict[str, Any] | None:
    """The first answer recorded under the command's key (None: none, or no key); a key
    reused with another body is a 409 only for a caller who may act on this request."""
    if cmd.answer is None:
        return None
    try:
        first = ledger.first_answer(cmd.answer)
    except IdempotencyKeyReusedError:
        if not allowed:
            raise out_of_scope() from None
        raise
    return None if first is None else request_fields(first)


def answer_key(request: Request, principal: Principal, body: dict[str, Any]) -> AnswerKey | None:
    """The caller's Idempotency-Key with the digest of what it asked (the step's path and its
    body, keys sorted); None without the header."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_KEY or not all("!" <= c <= "~" for c in key):
        raise ApiError(
            400,
            "invalid-idempotency-key",
            f"The Idempotency-Key is 1 to {MAX_KEY} visible ASCII characters",
        )
    asked = f"POST {request.url.path}\n".encode() + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return AnswerKey(principal.actor_id, key, hashlib.sha256(asked).hexdigest())


async def step(request: Request, action: str) -> Response:
    principal = await authenticate(request, "office", "family")
    body = await json_object(request)
    cmd = _command(request.path_params["service_request_id"], action, principal, body)
    cmd = replace(cmd, answer=answer_key(request, principal, body))
    container = request.app.state.container
    if isinstance(cmd, Supplement) and cmd.evidence:
        await _check_documents(container, principal, cmd)
    view, replayed = await run_in_threadpool(decide, container.ledger, principal, action, cmd)
    if replayed:
        return ORJSONResponse(view, headers={REPLAYED: "true"})
    await run_in_threadpool(container.after_command)
    return ORJSONResponse(view)


async def _check_documents(container: Container, principal: Principal, cmd: Supplement) -> None:
    """A supplement cites only uploaded documents its case has (api/documents.py)."""
    args = (container.files, container.ledger, principal, cmd.service_request_id, cmd.evidence)
    if unknown := await run_in_threadpool(unknown_evidence, *args):
        raise ApiError(
            422,
            "unknown-evidence",
            "The evidence cites a document this case does not have, or with another "
            "sha256: upload it first (POST /cases/{case_id}/documents)",
            field="evidence",
            documents=unknown,
        )


def _endpoint(action: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await step(request, action)

    return endpoint


ROUTES = [
    Route(
        f"/service-requests/{{service_request_id:uuid}}/{action}",
        _endpoint(action),
        methods=["POST"],
    )
    for action in ACTIONS
]
