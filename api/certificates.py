"""E-certificate routes: the published keys, verification anyone can do (no token), the
status list, and a case's certificates for its family and the admin (audited)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import NotACertificateError, Principal, foreign_case, issuer_parts
from api.audit import audited
from api.auth import authenticate, out_of_scope
from api.bodies import field, json_object
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

MAX_CERTIFICATE = 8192  # characters of a compact JWS (ours are under 1,500)
KEYS_CACHE = "public, max-age=300"  # a rotation shows within 5 minutes; old keys stay
STATUS_CACHE = "public, max-age=60"
VERIFIES = {
    200: "What the certificate states and its status: valid, superseded, revocation-pending, "
    "revoked or invalid (with the reason)",
}

OPERATIONS = [
    Operation(
        "/.well-known/jwks.json",
        "GET",
        "The e-certificates' public keys (JWKS, RFC 7517): every office's, retired ones too, "
        "withdrawn ones not",
        answer="Jwks",
    ),
    Operation(
        "/verify",
        "POST",
        "Verify an e-certificate (the compact JWS a QR code holds): signature, issuer, "
        "the record and its status; no token needed",
        body="application/json",
        request_schema="VerifyRequest",
        answer="Verification",
        responses={
            400: "The body is not a JSON object",
            413: "The body is too large",
            415: "The body is not application/json",
            422: "'certificate' is missing, or not a compact JWS with a JSON payload",
        },
    ),
    Operation(
        "/verify/{jti}",
        "GET",
        "A certificate id's status and when it changed, nothing it states (an unknown id "
        "answers status invalid, reason unknown-id); no token needed",
        answer="Verification",
    ),
    Operation(
        "/certificates/status",
        "GET",
        "The status list: certificates superseded by a correction or revoked by a void, of "
        "one issuer (?issuer=urn:newborn-ledger:issuer:<province>:<authority>) or all",
        params=("issuer",),
        answer="StatusList",
        responses={422: "issuer is not an issuer URI"},
    ),
    Operation(
        "/cases/{case_id:uuid}/certificates",
        "GET",
        "The case's e-certificates (signed, with their status): the family of the case, admin",
        roles=("family", "admin"),
        answer="CaseCertificates",
        responses={
            404: "No such case",
            503: "The read audit cannot record the read now",
        },
    ),
]


def jwks(request: Request) -> Response:
    keys = request.app.state.container.keys.jwks()
    return ORJSONResponse(keys, headers={"Cache-Control": KEYS_CACHE})


async def verify(request: Request) -> Response:
    body = await json_object(request)
    token = field(body, "certificate", str, max_length=MAX_CERTIFICATE)
    assert token is not None
    certificates = request.app.state.container.certificates
    try:
        answer = await run_in_threadpool(certificates.verify, token.strip())
    except NotACertificateError as exc:
        raise ApiError(422, "not-a-certificate", str(exc), field="certificate") from None
    return ORJSONResponse(answer, headers={"Cache-Control": "no-store"})


def verify_id(request: Request) -> Response:
    jti = request.path_params["jti"]
    answer = request.app.state.container.certificates.lookup(jti[:100])
    return ORJSONResponse(answer, headers={"Cache-Control": "no-store"})


def status_list(request: Request) -> Response:
    office = request.query_params.get("issuer")
    if office is not None and issuer_parts(office) is None:
        raise ApiError(
            422,
            "invalid-parameter",
            "issuer is urn:newborn-ledger:issuer:<province>:<authority>",
            parameter="issuer",
        )
    answer = request.app.state.container.certificates.status_list(office)
    return ORJSONResponse(answer, headers={"Cache-Control": STATUS_CACHE})


async def certificates_of_case(request: Request) -> tuple[Principal, str, list[dict[str, Any]]]:
    """The caller (the case's family or applicant, or an admin), the path's case (any wing's)
    and its certificates; a case the caller may not see, or none, is a 404."""
    principal = await authenticate(request, "family", "admin")
    case_id = request.path_params["case_id"]
    if foreign_case(principal, case_id):
        raise out_of_scope()
    container = request.app.state.container
    await run_in_threadpool(container.ledger.kernel_case, case_id)  # 404: no such case
    found: list[dict[str, Any]] = await run_in_threadpool(container.certificates.of_case, case_id)
    return principal, case_id, found


async def case_certificates(request: Request) -> Response:
    principal, case_id, found = await certificates_of_case(request)
    await audited(request, principal, "certificates", case_id)
    return ORJSONResponse({"case_id": str(case_id), "certificates": found})


ROUTES = [
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    Route("/verify", verify, methods=["POST"]),
    Route("/verify/{jti}", verify_id, methods=["GET"]),
    Route("/certificates/status", status_list, methods=["GET"]),
    Route("/cases/{case_id:uuid}/certificates", case_certificates, methods=["GET"]),
]
