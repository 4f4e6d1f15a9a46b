"""Characters no store can hold never reach one: a NUL (U+0000) or another control character
in a request's path, query or JSON body is refused, located, before any read or write.

PostgreSQL text cannot contain U+0000, so such a value reaching a query raised a data error,
which was answered as an outage (503 store-unavailable) to anyone who sent it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.facade import Issue, operation_outcome
from api.problems import ApiError
from api.responses import FHIRResponse, problem

# C0 controls and DEL, except tab, line feed and carriage return (free text may hold those).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_at(value: Any, where: str) -> str | None:
    """The location (a JSON path below `where`) of the first control character in a JSON
    value's strings or keys, or None."""
    if isinstance(value, str):
        return where if CONTROL.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if CONTROL.search(key):
                return where
            if (found := control_at(item, f"{where}.{key}")) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := control_at(item, f"{where}[{index}]")) is not None:
                return found
    return None


def refuse_control_characters(body: dict[str, Any]) -> None:
    """422 naming the field whose text holds a control character."""
    where = control_at(body, "$")
    if where is not None:
        raise ApiError(
            422,
            "invalid-character",
            f"{where} contains a control character (such as NUL, U+0000), which is not allowed",
            field=where.removeprefix("$."),
        )


def _in_request(scope: Scope) -> str | None:
    """'path', or the query parameter, that holds a control character; None if neither."""
    if CONTROL.search(scope.get("path", "")):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if CONTROL.search(name):
            return "query"
        if CONTROL.search(value):
            return f"query parameter {_quoted(name)}"
    return None


def _quoted(name: str) -> str:
    """A sender's parameter name as a problem quotes it: escaped, and cut short."""
    text = ascii(name)
    return text if len(text) <= 40 else text[:37] + "..."


class ControlCharacterMiddleware:
    """400 problem+json for a path or query holding a control character (percent-encoded
    `%00` included), before routing: no handler, and so no store, ever sees one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = _in_request(scope) if scope["type"] == "http" else None
        if where is None:
            await self.app(scope, receive, send)
            return
        text = f"The {where} contains a control character (such as NUL, %00), which is not allowed"
        if scope["path"].startswith("/fhir/"):  # FHIR routes answer OperationOutcomes
            outcome = operation_outcome([Issue("error", "invalid", text)])
            await FHIRResponse(outcome, status_code=400)(scope, receive, send)
            return
        response = problem(400, "invalid-character", "Invalid character", text, location=where)
        await response(scope, receive, send)


WHOLE = re.compile(r"[0-9]{1,19}")  # ASCII digits only: "²" is a digit to str.isdigit


def query_number(request: Request, name: str, default: int, high: int, low: int = 0) -> int:
    """A whole-number query parameter from `low` to `high` (`default` when absent); 422
    naming it otherwise (the queue's, the routing desk's, the feed's and the audit's)."""
    raw = request.query_params.get(name, str(default))
    if not WHOLE.fullmatch(raw) or not low <= int(raw) <= high:
        raise ApiError(
            422,
            "invalid-parameter",
            f"{name} is a whole number from {low} to {high}",
            parameter=name,
        )
    return int(raw)
