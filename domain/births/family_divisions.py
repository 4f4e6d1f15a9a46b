"""The division picker's reference: provinces, their cities, their counties, as of a date.

From python-stdnum's GB/T 2260 table (the one the identifiers are checked against), whose
names carry the years they were in force ('[1984-1995]南区,[1996-]岳阳楼区'): a level lists
the divisions in force in the year of the date, each under the name it had then. A county
the table names "市辖区" (a city's own districts, as a whole) is not a place a family lives in,
and is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from stdnum import numdb

from domain.kernel.errors import InvalidIdentifierError

_RANGE = re.compile(r"\[(\d{4})?-(\d{4})?\]([^,]+)", re.ASCII)
_PARENT = re.compile(r"^[1-8]\d(\d{2}(00)?)?$", re.ASCII)
NOT_A_PLACE = frozenset({"市辖区"})


@dataclass(frozen=True)
class Division:
    code: str  # 6 digits
    name: str


def name_in(label: str, year: int) -> str | None:
    """The name a table label gives for `year`, or None when it was not in force then."""
    ranges = _RANGE.findall(label)
    if not ranges:
        return label  # no years: in force throughout the table
    for start, end, name in ranges:
        if (not start or int(start) <= year) and (not end or year <= int(end)):
            return str(name)
    return None


@cache
def _tree() -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    """(province prefix, its name, ((the 4 digits after it, the table's label), ...))."""
    provinces = []
    for _, low, _, props, children in numdb.get("cn/loc").prefixes:
        rows = tuple((child[1], str(child[3].get("county", ""))) for child in children)
        provinces.append((str(low), str(props.get("province", "")), rows))
    return tuple(provinces)


def divisions(parent: str | None, on: date) -> list[Division]:
    """The level below `parent` in force on `on`: provinces (no parent), a province's cities
    (2 digits), a city's counties (4 digits, or its 6-digit code)."""
    if parent is None:
        return [Division(f"{p}0000", name) for p, name, _ in _tree() if name]
    if not _PARENT.match(parent):
        raise InvalidIdentifierError(
            "parent is a province (2 digits) or a city (4 digits, or 6 ending in 00)",
            field="parent",
        )
    province = next((rows for p, _, rows in _tree() if p == parent[:2]), ())
    if len(parent) == 2:
        wanted = [(rest, label) for rest, label in province if rest[2:] == "00" != rest[:2]]
    else:
        wanted = [(rest, label) for rest, label in province
                  if rest[:2] == parent[2:4] and rest[2:] != "00"]  # fmt: skip
    found = _in_force(parent[:2], wanted, on.year)
    return found if len(parent) == 2 else [d for d in found if d.name not in NOT_A_PLACE]


def _in_force(prefix: str, rows: list[tuple[str, str]], year: int) -> list[Division]:
    named = ((rest, name_in(label, year)) for rest, label in rows)
    return [Division(prefix + rest, name) for rest, name in named if name is not None]


def division_path(code: str, on: date) -> list[Division]:
    """The province, city and county of a 6-digit code as named on `on` (as far as known)."""
    path = []
    for parent, length in ((None, 2), (code[:2], 4), (code[:4], 6)):
        wanted = code[:length].ljust(6, "0")
        match = next((d for d in divisions(parent, on) if d.code == wanted), None)
        if match is None:
            break
        path.append(match)
    return path
