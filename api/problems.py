"""The one table from errors to HTTP statuses, and the problem+json exception handlers."""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
from eventsourcing.persistence import (
    DataError,
    PersistenceError,
    ProgrammingError,
    RecordConflictError,
)
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from adapters.facade import (
    ActorNotFoundError,
    CaseClosedError,
    CaseNotFoundError,
    CaseNotYetError,
    DomainError,
    IdempotencyKeyReusedError,
    InvalidActorError,
    InvalidApplicationError,
    InvalidCallBackError,
    InvalidIdentifierError,
    InvalidResultError,
    InvalidRouteError,
    InvalidSessionError,
    InvalidTransitionError,
    NotificationConflictError,
    OutOfScopeError,
    RatingNotAllowedError,
    ServiceRequestNotFoundError,
    StoreUnavailableError,
)
from api.problem_language import CHINESE, in_chinese, language, vary_on_language
from api.responses import ProblemResponse, problem

log = logging.getLogger(__name__)

STATUS: dict[type[DomainError], int] = {
    CaseNotFoundError: 404,
    ServiceRequestNotFoundError: 404,
    ActorNotFoundError: 404,
    OutOfScopeError: 404,  # exactly as a missing resource (api/auth.py, out_of_scope)
    CaseNotYetError: 404,
    CaseClosedError: 409,
    NotificationConflictError: 409,
    InvalidTransitionError: 409,
    RatingNotAllowedError: 409,
    IdempotencyKeyReusedError: 409,
    InvalidIdentifierError: 422,
    InvalidApplicationError: 422,
    InvalidCallBackError: 422,
    InvalidResultError: 422,
    InvalidRouteError: 422,
    InvalidSessionError: 422,
    InvalidActorError: 422,
}


class ApiError(Exception):
    """An HTTP-level problem raised by the API layer itself (auth, bad body, not found)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.context = status, code, detail, context
        self.headers = headers


def _title(code: str) -> str:
    return re.sub(r"-", " ", code).capitalize()


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    return problem(status, exc.code, _title(exc.code), exc.detail, request.url.path, **exc.context)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return problem(
        exc.status,
        exc.code,
        _title(exc.code),
        exc.detail,
        request.url.path,
        headers=exc.headers,
        **exc.context,
    )


HTTP_CODES = {404: "not-found", 405: "method-not-allowed", 0: "http-error"}  # 0: any other


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, HTTP_CODES[0])
    return problem(exc.status_code, code, _title(code), str(exc.detail), request.url.path)


async def conflict(request: Request, exc: Exception) -> Response:
    return problem(
        409,
        "concurrent-write",
        "Concurrent write",
        "Someone changed this record at the same moment; read it again and retry",
        request.url.path,
    )


async def unavailable(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RecordConflictError):  # IntegrityError is both: a conflict, not an outage
        return await conflict(request, exc)
    if isinstance(exc, DataError):  # the request's values, not the store: never an outage
        return await unstorable(request, exc)
    if isinstance(exc, ProgrammingError):  # our own bug: logged as one, never an outage alert
        return _internal(request)  # answered through the middleware: negotiated there, once
    log.warning("store unavailable on %s: %s", request.url.path, type(exc).__name__)
    return problem(
        503,
        "store-unavailable",
        "Store unavailable",
        "The event store is not reachable; retry later",
        request.url.path,
    )


async def unstorable(request: Request, exc: Exception) -> Response:
    log.warning("value refused by the store on %s: %s", request.url.path, type(exc).__name__)
    return problem(
        422,
        "unprocessable-value",
        "Unprocessable value",
        "A value in this request cannot be stored or searched (for example a control "
        "character or an over-long text); correct it and send again",
        request.url.path,
    )


async def internal(request: Request, exc: Exception) -> Response:
    # Answered outside the middleware (Starlette's ServerErrorMiddleware): negotiated here.
    return negotiated(request, _internal(request))


def _internal(request: Request) -> ProblemResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        500,
        "internal-error",
        "Internal error",
        "An unexpected error occurred; it has been logged",
        request.url.path,
    )


def negotiated(request: Request, response: ProblemResponse) -> ProblemResponse:
    """A problem answered in the language the request asks for (api/problem_language.py),
    as the middleware answers it: `Content-Language`, and `Vary: Accept-Language`."""
    lang = language(request.headers.get("accept-language"))
    if lang == CHINESE:
        chinese = in_chinese(orjson.loads(response.body), response.headers.get("retry-after"))
        response = ProblemResponse(chinese, response.status_code, dict(response.headers))
        del response.headers["content-length"]
        response.headers["content-length"] = str(len(response.body))
    response.headers["content-language"] = lang
    vary_on_language(response.headers)
    return response


HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    ApiError: api_error,
    HTTPException: http_error,
    RecordConflictError: conflict,
    StoreUnavailableError: unavailable,
    PersistenceError: unavailable,
    Exception: internal,
}
