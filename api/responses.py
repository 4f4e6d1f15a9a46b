"""Response types: orjson JSON, RFC 9457 problem+json, FHIR JSON."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

_OPTIONS = orjson.OPT_NON_STR_KEYS
# Every 429 says when to come back: a site that knows no better time gets this one.
DEFAULT_RETRY_AFTER = "60"


class ORJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)


class ProblemResponse(ORJSONResponse):
    media_type = "application/problem+json"


class FHIRResponse(ORJSONResponse):
    media_type = "application/fhir+json"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str = "",
    *,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> ProblemResponse:
    """An RFC 9457 problem document; `type` is a relative URI naming the error code."""
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in context.items() if k not in body})
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="newborn-ledger"'}
    if status == 429 and not any(k.lower() == "retry-after" for k in headers or {}):
        headers = {**(headers or {}), "Retry-After": DEFAULT_RETRY_AFTER}
    return ProblemResponse(body, status_code=status, headers=headers)
