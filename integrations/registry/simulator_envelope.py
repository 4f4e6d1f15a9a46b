"""The ledger's message as a simulated registry system reads it (a CloudEvents envelope,
docs/registry-integration.md), and what the office does on each kind of message."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

TYPE_PREFIX = "org.newborn-ledger.request."
SOURCE = re.compile(r"^/offices/(\d{6})/([a-z-]+)$")
ROLES = ("receive", "decide", "both")


@dataclass(frozen=True)
class Envelope:
    """One message: its type, the request it is about, the office it was sent to, the data."""

    id: str
    type: str
    subject: UUID
    locality: str
    authority: str
    sequence: int | None
    data: Mapping[str, Any]

    @property
    def kind(self) -> str:
        """'dispatched', 'received', 'deemed-accepted', ... (the type without its prefix)."""
        return self.type.removeprefix(TYPE_PREFIX)

    @property
    def role(self) -> str:
        """What this office does with the request: receive it, decide it, or both."""
        role = self.data.get("role")
        return role if role in ROLES else "both"

    @property
    def mode(self) -> str | None:
        """How the request is handled: online, off-site or joint (None when not said)."""
        mode = self.data.get("mode")
        return mode if isinstance(mode, str) else None

    @property
    def handling_locality(self) -> str:
        """The county that decides (whose code a citizen ID carries): the message says it,
        else it is the office the message was sent to."""
        handling = self.data.get("handling_locality")
        return handling if isinstance(handling, str) and handling else self.locality

    @property
    def service(self) -> str:
        return str(self.data.get("service", ""))

    @property
    def case_id(self) -> str | None:
        case_id = self.data.get("case_id")
        return case_id if isinstance(case_id, str) else None

    @property
    def payload(self) -> Mapping[str, Any] | None:
        """The dispatched values (on dispatched and redispatched messages), else None."""
        payload = self.data.get("payload")
        return payload if isinstance(payload, dict) else None

    @property
    def corrected(self) -> Mapping[str, Any]:
        """The corrected values a correction asks to decide on ({} on other messages)."""
        new = self.data.get("new")
        return new if isinstance(new, dict) else {}


def parse_envelope(body: bytes) -> Envelope:
    """The envelope of a (verified) body, or ValueError naming what is wrong with it."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(message, dict):
        raise ValueError("the body is not a JSON object")
    type_, source, data = message.get("type"), message.get("source"), message.get("data")
    if not isinstance(type_, str) or not type_.startswith(TYPE_PREFIX):
        raise ValueError(f"type is not {TYPE_PREFIX}<kind>")
    office = SOURCE.match(source) if isinstance(source, str) else None
    if office is None:
        raise ValueError("source is not /offices/<locality>/<authority>")
    if not isinstance(data, dict):
        raise ValueError("data is not an object")
    return Envelope(
        id=str(message.get("id", "")),
        type=type_,
        subject=_uuid(message.get("subject")),
        locality=office.group(1),
        authority=office.group(2),
        sequence=_sequence(message.get("sequence")),
        data=data,
    )


def _uuid(value: object) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise ValueError("subject is not a service request id") from None


def _sequence(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value):
        return int(value)
    return None


def actions_for(kind: str, role: str, mode: str | None = None) -> tuple[str, ...]:
    """The office routes this office calls, in order, on a message of `kind`.

    A window (receive, both) receives a dispatched request; the office that decides (decide,
    both) approves it once it was received: at once when it is both, else on the `received`
    or `deemed-accepted` message that follows the window's step. Handled online, the deciding
    office may receive the request itself (domain/kernel/access.py), so it does both. A
    correction asked is approved on the corrected values; a revocation asked (the case was
    voided) is confirmed. Other messages only inform.
    """
    if kind in ("dispatched", "redispatched"):
        if role == "decide" and mode == "online":
            role = "both"
        return {"receive": ("receive",), "both": ("receive", "approve")}.get(role, ())
    if kind in ("received", "deemed-accepted"):
        return ("approve",)
    if kind == "correction-requested":
        return ("approve-correction",)
    if kind == "revocation-requested":
        return ("revoke",)
    return ()
