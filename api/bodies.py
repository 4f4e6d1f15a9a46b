"""Reading JSON request bodies with located, plain-words errors (never a 500)."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from starlette.requests import Request

from api.inputs import refuse_control_characters
from api.problems import ApiError

T = TypeVar("T")
MAX_JSON_BYTES = 64 * 1024
MAX_TEXT = 1000  # characters of any text field that names no tighter limit


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 415 for another media type, 413 too big, 400 not an object."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", "application/merge-patch+json"):
        raise ApiError(
            415, "unsupported-media-type", "Send the body as application/json", got=media or None
        )
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "body-too-large", f"The body is over {MAX_JSON_BYTES} bytes")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid-json", f"The body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid-json", "The body must be a JSON object")
    refuse_control_characters(body)
    return body


def field(
    body: dict[str, Any],
    name: str,
    kind: type[T],
    *,
    required: bool = True,
    max_length: int = MAX_TEXT,
) -> T | None:
    """One field of the body, of the given JSON type (a text at most `max_length`
    characters), or a 422 naming it."""
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(422, "missing-field", f"'{name}' is required", field=name)
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ApiError(422, "invalid-field", f"'{name}' must be a {_json_name(kind)}", field=name)
    if isinstance(value, str):
        check_length(value, name, max_length)
    return value


def check_length(value: str, name: str, max_length: int) -> None:
    if len(value) > max_length:
        raise ApiError(
            422,
            "too-long",
            f"'{name}' is {len(value)} characters; at most {max_length} are allowed",
            field=name,
            max_length=max_length,
        )


def required_str(body: dict[str, Any], name: str, *, max_length: int = MAX_TEXT) -> str:
    value = field(body, name, str, max_length=max_length)
    assert value is not None
    if not value.strip():
        raise ApiError(422, "missing-field", f"'{name}' must not be empty", field=name)
    return value


def unknown_fields(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    if extra := sorted(set(body) - set(allowed)):
        raise ApiError(
            422,
            "unknown-field",
            f"Unknown field(s): {', '.join(extra)}",
            fields=extra,
            allowed=list(allowed),
        )


def unknown_refusals(
    body: dict[str, Any], allowed: tuple[str, ...], within: str = ""
) -> list[ApiError]:
    """One refusal per unknown field, each naming it (`field`: `within.name` inside an
    object), for a form that reports every problem at once instead of stopping at these."""
    prefix = f"{within}." if within else ""
    return [
        ApiError(
            422,
            "unknown-field",
            f"Unknown field: {prefix}{name}",
            field=f"{prefix}{name}",
            fields=[name],
            allowed=list(allowed),
        )
        for name in sorted(set(body) - set(allowed))
    ]


def _json_name(kind: type) -> str:
    return {str: "string", int: "whole number", bool: "boolean", list: "list", dict: "object"}.get(
        kind, kind.__name__
    )
