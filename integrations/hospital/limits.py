"""Bounds on what the intake takes into a case: lengths, clean characters, plausible dates.

Every string the intake maps is bounded and clean, so that no accepted message can break a
view's write later (PostgreSQL text holds no U+0000; a btree row fails near 2,700 bytes).
The limits are documented in docs/hospital-integration.md ("Limits").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Final

from integrations.hospital.issues import Issues

MAX_KEY: Final = 64  # the record key and the delivery id
MAX_NAME: Final = 100
MAX_PHONE: Final = 32
MAX_ENDPOINT: Final = 1024  # MessageHeader.source.endpoint, echoed in the acknowledgement
PHONE: Final = re.compile(r"\+?[0-9][0-9 ()\-.]*")
MIN_PHONE_DIGITS: Final = 5
MAX_BIRTH_ORDER: Final = 9
CLOCK_SKEW: Final = timedelta(minutes=10)
# The widest age limit of the newborn bundles: 6 years, the national cross-province newborn
# hukou service (domain reference §S3); a later registration is not a newborn's.
MAX_AGE_YEARS: Final = 6
MOTHER_AGE: Final = (10, 70)  # years at the birth
# Prefecture-level cities without counties: their own code is the finest division there is.
NO_COUNTIES: Final = frozenset({"441900", "442000", "460400", "620200"})


def _has_control(value: str, categories: tuple[str, ...]) -> bool:
    """Whether a character of `value` is in one of `categories` (all of them within C:
    controls, format, surrogates, private use, unassigned). A printable text has none, and
    str.isprintable answers that in C for the common case, without a lookup per character."""
    if value.isprintable():
        return False
    return any(unicodedata.category(c).startswith(categories) for c in value)


def clean_key(value: str, where: str, issues: Issues, what: str) -> str | None:
    """An identifier: 1-64 characters, none a control, format or unassigned one."""
    if len(value) > MAX_KEY:
        issues.value(where, f"The {what} has {len(value)} characters: at most {MAX_KEY}")
        return None
    if _has_control(value, ("C",)):
        issues.value(where, f"The {what} holds a control or invisible character")
        return None
    return value


def clean_text(value: str | None, where: str, issues: Issues, limit: int, what: str) -> bool:
    """A free text (a name): at most `limit` characters, no control character."""
    if value is None:
        return True
    if len(value) > limit:
        issues.value(where, f"The {what} has {len(value)} characters: at most {limit}")
        return False
    if _has_control(value, ("Cc", "Cs")):
        issues.value(where, f"The {what} holds a control character")
        return False
    return True


def clean_phone(value: str | None, where: str, issues: Issues) -> bool:
    """A phone number: at most 32 characters of digits, spaces, + ( ) - . and 5+ digits."""
    if value is None:
        return True
    digits = sum(c.isdigit() for c in value)
    if len(value) > MAX_PHONE or not PHONE.fullmatch(value) or digits < MIN_PHONE_DIGITS:
        text = f"A phone number is at most {MAX_PHONE} digits, spaces and + ( ) - ."
        issues.value(where, text)
        return False
    return True


def county_level(code: str) -> bool:
    """A GB/T 2260 code of a county (district), not of a province or prefecture."""
    return not code.endswith("00") or code in NO_COUNTIES


def birth_problem(born_at: datetime, now: datetime) -> str | None:
    """Why a birth time cannot be a newborn's notified at `now` (the sender's clock may be
    up to 10 minutes ahead), or None."""
    if born_at > now + CLOCK_SKEW:
        return f"The birth ({born_at.isoformat()}) is in the future ({now.isoformat()})"
    today = now.astimezone(born_at.tzinfo).date()
    if born_at.date() < years_before(today, MAX_AGE_YEARS):
        return (
            f"A birth on {born_at.date()} is more than {MAX_AGE_YEARS} years ago: "
            "not a newborn's registration"
        )
    return None


def mother_age_problem(mother_born: date, child_born: date) -> str | None:
    """Why this mother cannot have given this birth, or None."""
    if mother_born >= child_born:
        return f"The mother's birth date ({mother_born}) is not before the child's ({child_born})"
    low, high = MOTHER_AGE
    age = _age(mother_born, child_born)
    if not low <= age <= high:
        return f"A mother aged {age} at the birth is implausible ({low}-{high} years)"
    return None


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
