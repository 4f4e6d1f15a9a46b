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
# 结婚证字号: J, the registering county's division code, the year, a 6-digit serial
_MARRIAGE_CERTIFICATE = re.compile(r"J([0-9]{6})-([0-9]{4})-([0-9]{6})", re.ASCII)
FIRST_MARRIAGE_YEAR = 1950  # the Marriage Law of 1950: no certificate of this form before it


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
    if field == "marriage_certificate_number":
        return marriage_certificate_number(value, handling_locality, field=field)
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


def marriage_certificate_number(
    value: str, handling_locality: str, *, field: str = "marriage_certificate_number"
) -> str:
    """A marriage certificate number (结婚证字号) "J<county>-<year>-<serial>", e.g.
    J330424-2026-000123: the county is the registering (handling) county's 6-digit code, the
    year four digits from 1950, the serial six digits; or raise naming the rule broken."""
    number = value.strip().upper()
    found = _MARRIAGE_CERTIFICATE.fullmatch(number)
    if found is None:
        raise InvalidIdentifierError(
            "A marriage certificate number (结婚证字号) is J, the registering county's 6-digit "
            "code, the year and a 6-digit serial, e.g. J330424-2026-000123",
            field=field,
        )
    if found[1] != handling_locality:
        raise InvalidIdentifierError(
            f"The county code {found[1]} is not the registering county {handling_locality}",
            field=field,
        )
    if int(found[2]) < FIRST_MARRIAGE_YEAR:
        raise InvalidIdentifierError(
            f"The year {found[2]} is before {FIRST_MARRIAGE_YEAR}", field=field
        )
    return number
