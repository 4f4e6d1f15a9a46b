"""What an office's approval must carry, per service, and the checks on it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.kernel.catalog import ServiceDefinition
from domain.kernel.errors import InvalidIdentifierError, InvalidResultError
from domain.kernel.identifiers import certificate_number, citizen_id

_OPAQUE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-/]{2,63}$")


@dataclass(frozen=True)
class Result:
    """What an office's approval produced: one identifier, under the catalog's result field."""

    field: str
    value: str

    def to_dict(self) -> dict[str, str]:
        """`{field: value}`: how it is stored and shown (what version 1 of Approved stored)."""
        return {self.field: self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> Result:
        ((field, value),) = data.items()
        return cls(field, value)


def validate_result(
    service: ServiceDefinition,
    result: Mapping[str, object],
    handling_locality: str,
    born_at: str | None,
) -> Result:
    """The normalised result, or InvalidResultError naming the field and the rule broken."""
    field = service.result_field
    if set(result) != {field}:
        raise InvalidResultError(
            f"An approval of {service.code} carries exactly one field, {field!r}",
            field=field,
            got=sorted(result),
        )
    value = result[field]
    if not isinstance(value, str):
        raise InvalidResultError(f"{field} must be a string", field=field)
    try:
        return Result(field, _check(field, value, handling_locality, born_at))
    except InvalidIdentifierError as exc:
        raise InvalidResultError(exc.detail, field=field) from None


def _check(field: str, value: str, handling_locality: str, born_at: str | None) -> str:
    if field == "certificate_number":
        return certificate_number(value, field=field)
    if field == "citizen_id":
        born_on = datetime.fromisoformat(born_at).date() if born_at else None
        number = citizen_id(value, born_on=born_on, field=field)
        if number[:6] != handling_locality:
            raise InvalidIdentifierError(
                f"The address code {number[:6]} is not the handling county {handling_locality}",
                field=field,
            )
        return number
    if not _OPAQUE.match(value.strip()):
        raise InvalidIdentifierError(f"{field} is 3 to 64 letters, digits, '-' or '/'", field=field)
    return value.strip()
