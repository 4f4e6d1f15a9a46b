"""Chinese identifiers: citizen ID (GB 11643), USCC (GB 32100), division codes (GB/T 2260)."""

from __future__ import annotations

import re
from datetime import date
from functools import cache

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from domain.kernel.errors import InvalidIdentifierError

_CITIZEN_ID = re.compile(r"^\d{17}[\dX]$", re.ASCII)
_DIVISION = re.compile(r"^[1-8]\d{5}$", re.ASCII)
_CERTIFICATE = re.compile(r"^[A-Z]\d{9}$", re.ASCII)
_NAME_RANGE = re.compile(r"\[(\d{4})?-(\d{4})?\]([^,]+)", re.ASCII)


def citizen_id(value: str, *, born_on: date | None = None, field: str = "citizen_id") -> str:
    """Return the normalised 18-character citizen ID or raise.

    The address code is only checked for shape: an ID keeps the code in force when it was
    assigned, so a retired county code (e.g. Chongming's 310230) is still valid for life.
    """
    number = value.strip().upper()
    if not _CITIZEN_ID.match(number):
        raise InvalidIdentifierError(
            "A citizen ID number has 17 digits and a check character (digit or X)", field=field
        )
    if not _DIVISION.match(number[:6]):
        raise InvalidIdentifierError("The address code (first 6 digits) is malformed", field=field)
    birth = _birth_date(number, field)
    if born_on is not None and birth != born_on:
        raise InvalidIdentifierError(
            f"The birth date in the ID ({birth.isoformat()}) is not {born_on.isoformat()}",
            field=field,
        )
    if ric.calc_check_digit(number) != number[-1]:
        raise InvalidIdentifierError("The check character of the citizen ID is wrong", field=field)
    return number


def _birth_date(number: str, field: str) -> date:
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifierError(
            "The birth date in the citizen ID is not a calendar date", field=field
        ) from None
    if birth.year < 1880:
        raise InvalidIdentifierError("The birth date in the citizen ID is implausible", field=field)
    return birth


def make_citizen_id(county: str, born_on: date, sequence: int) -> str:
    """Build a citizen ID (as a hukou office assigns it) with its check character."""
    body = f"{division_code(county)}{born_on:%Y%m%d}{sequence % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def citizen_id_sex(number: str) -> str:
    """'male' or 'female' from the sequence number (odd = male)."""
    return "male" if int(number[16]) % 2 else "female"


def uscc_code(value: str, *, field: str = "uscc") -> str:
    """Return the normalised unified social credit code (GB 32100) or raise."""
    try:
        return str(uscc.validate(value.strip().upper()))
    except ValidationError as exc:
        raise InvalidIdentifierError(
            f"Not a valid unified social credit code: {exc}", field=field
        ) from None


def division_code(value: str, *, field: str = "division") -> str:
    """Return a 6-digit GB/T 2260 code whose province exists, or raise."""
    code = value.strip()
    if not _DIVISION.match(code) or _province_name(code[:2]) is None:
        raise InvalidIdentifierError(
            "A division code is 6 digits of GB/T 2260 (province, prefecture, county)", field=field
        )
    return code


def county_code(value: str, *, field: str = "division") -> str:
    """A division code naming a county the reference table knows (in force now or once), or
    raise: an office is routed only to a place that exists."""
    code = division_code(value, field=field)
    if code.endswith("00") or division_name(code) is None:
        raise InvalidIdentifierError(
            f"{code} is not a county of GB/T 2260 (python-stdnum's table)", field=field
        )
    return code


def certificate_number(value: str, *, field: str = "certificate_number") -> str:
    """Birth medical certificate number: one capital letter and 9 digits."""
    number = value.strip().upper()
    if not _CERTIFICATE.match(number):
        raise InvalidIdentifierError(
            "A birth certificate number is one letter and 9 digits", field=field
        )
    return number


def province_of(division: str) -> str:
    """The 2-digit province prefix of a division code."""
    return division[:2]


@cache
def _province_name(prefix: str) -> str | None:
    info = numdb.get("cn/loc").info(prefix + "0000")
    names = [props.get("province") for _, props in info if props.get("province")]
    return names[0] if names else None


@cache
def division_name(code: str) -> str | None:
    """The current name of a division from python-stdnum's table (None when unknown)."""
    info = numdb.get("cn/loc").info(code)
    if len(info) < 2 or not info[1][1].get("county"):
        return _province_name(code[:2]) if code.endswith("0000") else None
    return current_name(str(info[1][1]["county"]))


def current_name(label: str) -> str:
    """'[1984-1995]南区,[1996-]岳阳楼区' → '岳阳楼区' (the range that has no end)."""
    ranges = _NAME_RANGE.findall(label)
    if not ranges:
        return label
    open_ended = [name for _, end, name in ranges if not end]
    return str((open_ended or [ranges[-1][2]])[-1])


def full_division_name(code: str) -> str:
    """Province + county name for display, e.g. '湖南省 岳阳楼区'; the code when unknown."""
    names = [n for n in (_province_name(code[:2]), division_name(code)) if n]
    return " ".join(dict.fromkeys(names)) or code
