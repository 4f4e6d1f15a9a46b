"""What an office's approval must carry, per service, and the checks on it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from domain.kernel.catalog import ServiceDefinition
from domain.kernel.errors import InvalidIdentifierError, InvalidResultError
from domain.kernel.identifiers import certificate_number, citizen_id

_OPAQUE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-/]{2,63}$")
# 结婚证字号: J, the registering county's division code, the year, a 6-digit serial
_MARRIAGE_CERTIFICATE = re.compile(r"J([0-9]{6})-([0-9]{4})-([0-9]{6})", re.ASCII)
FIRST_MARRIAGE_YEAR = 1950  # the Marriage Law of 1950: no certificate of this form before it
# A resident ID card's record: the holder's citizen ID and the validity printed on the card
# (有效期限, start-end or 长期): "<citizen ID>/<YYYYMMDD>-<YYYYMMDD|长期>"
_CARD = re.compile(r"^(?P<id>[0-9]{17}[0-9X])/(?P<start>[0-9]{8})-(?P<end>[0-9]{8}|长期)$")
LONG_TERM = "长期"


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
    holder: str | None = None,
) -> Result:
    """The normalised result, or InvalidResultError naming the field and the rule broken.
    `holder`: the citizen ID of the person a card is made for (its office was shown it)."""
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
        if field == "id_card_record":
            return Result(field, id_card_record(value, holder, field=field))
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


def id_card_record(value: str, holder: str | None, *, field: str = "id_card_record") -> str:
    """A resident ID card's record, checked: the holder's citizen ID (valid, and the
    applicant's when known) and the validity the law gives the holder's age on the card's
    start date (居民身份证法 Art. 5: under 16, 5 years; 16 to 25, 10; 26 to 45, 20; 46 and
    over, 长期)."""
    found = _CARD.match(value.strip().upper().replace("长期", LONG_TERM))
    if found is None:
        raise InvalidIdentifierError(
            f"{field} is '<citizen ID>/<YYYYMMDD>-<YYYYMMDD or 长期>' (the card's validity)",
            field=field,
        )
    number = citizen_id(found["id"], field=field)
    if holder is not None and number != holder:
        raise InvalidIdentifierError("The card's citizen ID is not the applicant's", field=field)
    start = _day(found["start"], field)
    years = _validity_years(_age(_birth(number), start))
    if years is None:
        if found["end"] != LONG_TERM:
            raise InvalidIdentifierError(
                "A holder 46 or older on the start date gets a card valid 长期 (Art. 5)",
                field=field,
            )
    elif found["end"] == LONG_TERM or _day(found["end"], field) not in _plus_years(start, years):
        raise InvalidIdentifierError(
            f"The holder's age on the start date gives a card valid {years} years (Art. 5)",
            field=field,
        )
    return f"{number}/{found['start']}-{found['end']}"


def _day(text: str, field: str) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise InvalidIdentifierError(f"{text} is not a calendar date", field=field) from None


def _birth(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _validity_years(age: int) -> int | None:
    """Art. 5's validity for a holder of `age`; None: 长期."""
    if age < 16:
        return 5
    if age <= 25:
        return 10
    return 20 if age <= 45 else None


def _plus_years(start: date, years: int) -> tuple[date, ...]:
    """The end dates a start date allows (29 February: 28 February or 1 March)."""
    try:
        return (start.replace(year=start.year + years),)
    except ValueError:
        return (date(start.year + years, 2, 28), date(start.year + years, 3, 1))
