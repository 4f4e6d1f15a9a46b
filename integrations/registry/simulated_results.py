"""What a simulated registry system answers: receipt numbers and results a real office's
system would issue, deterministic per service request (a retried or repeated answer is the
same answer) and valid by the ledger's own rules (domain/kernel/results.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from hashlib import sha256
from uuid import UUID

from domain.kernel.errors import InvalidResultError
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.results import validate_result
from domain.wings import service as service_definition

# Opaque results (3 to 64 letters, digits, '-' or '/'): a prefix per result field.
PREFIXES = {
    "vaccination_record_number": "VR",
    "enrolment_number": "MI",
    "card_number": "SSC",
    "decision_number": "MB",
}


class PayloadNeededError(Exception):
    """The result depends on dispatched values (the birth date) the simulator does not hold."""


def number_of(request_id: UUID, salt: str, digits: int) -> int:
    """A stable number of `digits` digits for one request (and one purpose)."""
    digest = sha256(f"{request_id}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % int(10**digits)


def receipt_number(locality: str, request_id: UUID) -> str:
    """The window's acceptance receipt (受理编号): the same for every answer on one request."""
    return f"SIM-{locality}-{number_of(request_id, 'receipt', 8):08d}"


def simulated_result(
    service: str, locality: str, request_id: UUID, payload: Mapping[str, object]
) -> dict[str, str]:
    """The result `{field: value}` the handling office at `locality` issues for `service`;
    checked with the ledger's validation before it is sent. KeyError: unknown service;
    PayloadNeededError: a citizen ID needs the child's birth date from the payload."""
    definition = service_definition(service)
    field = definition.result_field
    born_at = payload.get("born_at")
    value = _value(field, locality, request_id, payload)
    checked = validate_result(
        definition, {field: value}, locality, born_at if isinstance(born_at, str) else None
    )
    return checked.to_dict()


def _value(field: str, locality: str, request_id: UUID, payload: Mapping[str, object]) -> str:
    if field == "citizen_id":
        return _citizen_id(locality, request_id, payload)
    if field == "certificate_number":  # 1 letter + 9 digits: S(imulated), province, serial
        return f"S{locality[:2]}{number_of(request_id, field, 7):07d}"
    prefix = PREFIXES.get(field, "SIM")
    return f"{prefix}-{locality}-{number_of(request_id, field, 8):08d}"


def _citizen_id(locality: str, request_id: UUID, payload: Mapping[str, object]) -> str:
    """GB 11643: the handling county, the child's birth date, a sequence whose parity is the
    child's sex (odd = male), the check character."""
    born_at = payload.get("born_at")
    if not isinstance(born_at, str):
        raise PayloadNeededError("a citizen ID needs the birth date (born_at) of the payload")
    try:
        born_on = datetime.fromisoformat(born_at).date()
    except ValueError:
        raise InvalidResultError("born_at is not an ISO date-time", field="born_at") from None
    male = payload.get("sex") == "male"
    sequence = 2 * number_of(request_id, "citizen_id", 6) % 996 + 2 + male  # 2..999
    return make_citizen_id(locality, born_on, sequence)
