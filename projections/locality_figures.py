"""The monitor's figures of one locality, city or province and month: counters, rates and
exact time-to-result percentiles over the pooled samples (never averages of averages)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from domain.kernel.calendar import WorkingCalendar
from projections.events import cst_date, month_of


@dataclass(frozen=True)
class MonthRow:
    """The counters of one place (a county, a city or a province) in one month."""

    locality: str  # a level key: 2 digits (province), 4 (city) or 6 (county)
    month: str
    received: int = 0
    decided: int = 0
    approved: int = 0
    rejected: int = 0
    on_time: int = 0  # decided on or before the due date
    completed: int = 0  # cases completed with a request handled here (each case once)
    ratings: int = 0  # ratings this place's units answer for (each rating in one unit)
    rating_sum: int = 0
    bad_ratings: int = 0
    # the materials of the requests received here (domain/kernel/materials.py), counted in
    # the month of receipt, a resubmission's not again (per matter); what an answered
    # one-time notice asked for counts in the month of the answer: its distinct items on
    # notice, those not a listed material also as required and the family's
    materials_required: int = 0
    materials_shared: int = 0  # satisfied by a field the ledger shares
    materials_certificate: int = 0  # satisfied by an earlier result's e-certificate
    materials_family: int = 0  # supplied by the family (its application, documents, answers)
    materials_in_application: int = 0  # of the family's: answers of its one application
    materials_on_notice: int = 0  # items asked on answered notices (MaterialsCatalog.notice)


MATERIALS = (
    "required",
    "shared",
    "certificate",
    "family",
    "in_application",
    "on_notice",
)


@dataclass(frozen=True)
class SampleRow:
    """Time to result of one decided request (from receipt to decision), kept at each level
    of its place: a level's median and p90 are computed exactly from its pooled samples."""

    locality: str
    month: str
    service_request_id: str
    service: str
    seconds: int
    working_days: int
    on_time: bool


@dataclass(frozen=True)
class LocalityFigures:
    """The monitor's figures for one place and month (no personal data)."""

    locality: str
    month: str
    received: int
    decided: int
    approved: int
    rejected: int
    completed: int
    on_time_rate: float | None
    median_hours: float | None
    p90_hours: float | None
    median_working_days: int | None
    p90_working_days: int | None
    ratings: int
    average_rating: float | None
    bad_ratings: int
    # the Wenzhou measure (29 → 5): materials required vs supplied by families vs satisfied
    # by sharing (shared data or e-certificates), and the share sharing satisfied; per
    # matter (a resubmission's list is not counted again); on_notice: the distinct items
    # answered one-time notices asked for, those not listed also required (docs/api.md)
    materials: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def levels(locality: str) -> tuple[str, str, str]:
    """A county's keys at each level: province (2 digits), city (4), county (6)."""
    return locality[:2], locality[:4], locality


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The nearest-rank percentile: the smallest sample with `percent`% of samples at or
    below it (an actual sample, so exact); None without samples."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)), 1) - 1]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _times(samples: Sequence[SampleRow]) -> dict[str, Any]:
    hours = [s.seconds / 3600 for s in samples]
    days = [float(s.working_days) for s in samples]
    median_days, p90_days = nearest_rank(days, 50), nearest_rank(days, 90)
    return {
        "median_hours": _rounded(nearest_rank(hours, 50)),
        "p90_hours": _rounded(nearest_rank(hours, 90)),
        "median_working_days": None if median_days is None else int(median_days),
        "p90_working_days": None if p90_days is None else int(p90_days),
    }


def figures(counts: MonthRow, samples: Sequence[SampleRow]) -> LocalityFigures:
    """The month's counters, rates and exact time-to-result percentiles."""
    values = {k: v for k, v in asdict(counts).items() if k in LocalityFigures.__dataclass_fields__}
    return LocalityFigures(
        **values,
        **_times(samples),
        on_time_rate=round(counts.on_time / counts.decided, 4) if counts.decided else None,
        average_rating=round(counts.rating_sum / counts.ratings, 2) if counts.ratings else None,
        materials=_materials(counts),
    )


def _materials(counts: MonthRow) -> dict[str, Any]:
    values = {name: getattr(counts, f"materials_{name}") for name in MATERIALS}
    by_sharing = values["shared"] + values["certificate"]
    required = values["required"]
    return {
        "required": required,
        "by_family": values["family"],
        "by_sharing": by_sharing,
        "shared": values["shared"],
        "certificate": values["certificate"],
        "in_application": values["in_application"],
        "on_notice": values["on_notice"],
        "sharing_rate": round(by_sharing / required, 4) if required else None,
    }


def sample(request: tuple[str, str, str], times: tuple[str, str], due: str | None) -> SampleRow:
    """The time to result of a request (its locality, id, service) received and decided at
    `times`: on time when decided on or before `due` (China dates)."""
    received_at, decided_at = times
    taken = datetime.fromisoformat(decided_at) - datetime.fromisoformat(received_at)
    received_on, decided_on = cst_date(received_at), cst_date(decided_at)
    return SampleRow(
        locality=request[0],
        month=month_of(decided_at),
        service_request_id=request[1],
        service=request[2],
        seconds=int(taken.total_seconds()),
        working_days=WorkingCalendar().working_days_between(received_on, decided_on),
        on_time=due is None or decided_on <= date.fromisoformat(due),
    )
