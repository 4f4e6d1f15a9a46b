"""locality_stats: per handling locality per month (China time): volumes, times, ratings."""

from __future__ import annotations

import math
from abc import ABC
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import singledispatchmethod
from typing import Any

from domain.births.birth_case import BirthCase
from domain.kernel.calendar import WorkingCalendar
from domain.kernel.service_request import BY_DEADLINE, ServiceRequest
from engine.memory import InMemoryTables
from engine.rows import Rows, Table, changed, require
from engine.view import TableProjection, TableView
from projections.events import cst_date, month_of, stamp, topics_of

BAD_RATING = 2  # 1 and 2 of 5 are bad reviews (差评)


@dataclass(frozen=True)
class MonthRow:
    """The counters of one handling locality in one month."""

    locality: str
    month: str
    received: int = 0
    decided: int = 0
    approved: int = 0
    rejected: int = 0
    on_time: int = 0  # decided on or before the due date
    completed: int = 0  # cases completed with a request handled here
    ratings: int = 0
    rating_sum: int = 0
    bad_ratings: int = 0


@dataclass(frozen=True)
class SampleRow:
    """Time to result of one decided request (from receipt to decision): median and p90 are
    computed exactly from these."""

    locality: str
    month: str
    service_request_id: str
    service: str
    seconds: int
    working_days: int
    on_time: bool


@dataclass(frozen=True)
class RequestRow:
    """What a decision needs to know about its request: where, and since when."""

    service_request_id: str
    case_id: str
    service: str
    locality: str
    received_at: str | None
    due: str | None


@dataclass(frozen=True)
class CaseRow:
    """The requests of a case, to credit its completion and rating to their localities."""

    case_id: str
    requests: tuple[str, ...]


@dataclass(frozen=True)
class FollowUpRow:
    """A bad rating (1-2) to call back: the handling unit answers for it (谁办理、谁负责)."""

    locality: str
    month: str
    case_id: str
    score: int
    rated_at: str


MONTHS = Table("months", MonthRow, ("locality", "month"))
FOLLOW_UPS = Table("follow_ups", FollowUpRow, ("locality", "month", "case_id"))
SAMPLES = Table("samples", SampleRow, ("locality", "month", "service_request_id"))
REQUESTS = Table("requests", RequestRow, ("service_request_id",))
CASES = Table("cases", CaseRow, ("case_id",))


@dataclass(frozen=True)
class LocalityFigures:
    """The monitor's figures for one locality and month (no personal data)."""

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    )


class LocalityStatsView(TableView, ABC):
    """Per handling locality per month: received, decided, completed, time to result,
    on-time rate and ratings."""

    name = "locality_stats"
    tables = (MONTHS, SAMPLES, REQUESTS, CASES, FOLLOW_UPS)

    def figures(self, locality: str, month: str) -> LocalityFigures:
        counts = self.get(MONTHS, locality, month) or MonthRow(locality, month)
        where = {"locality": locality, "month": month}
        return figures(counts, self.select(SAMPLES, where, order_by=("service_request_id",)))

    def follow_ups(self, locality: str, month: str) -> list[FollowUpRow]:
        where = {"locality": locality, "month": month}
        return self.select(FOLLOW_UPS, where, order_by=("rated_at", "case_id"))

    def months(self, locality: str) -> list[str]:
        found = self.select(MONTHS, {"locality": locality}, order_by=("month",))
        return [row.month for row in found]


class InMemoryLocalityStats(InMemoryTables, LocalityStatsView):
    """locality_stats in memory, for unit tests."""


def _count(rows: Rows, locality: str, month: str, **increments: int) -> None:
    row = rows.get(MONTHS, locality, month) or MonthRow(locality, month)
    rows.put(MONTHS, changed(row, **{k: getattr(row, k) + v for k, v in increments.items()}))


def _case_localities(rows: Rows, case_id: str) -> list[str]:
    case = rows.get(CASES, case_id) or CaseRow(case_id, ())
    requests = [require(rows.get(REQUESTS, r), "service request", r) for r in case.requests]
    return sorted({r.locality for r in requests})


def _sample(request: RequestRow, decided_at: str) -> SampleRow | None:
    if request.received_at is None:
        return None
    taken = datetime.fromisoformat(decided_at) - datetime.fromisoformat(request.received_at)
    received_on, decided_on = cst_date(request.received_at), cst_date(decided_at)
    return SampleRow(
        locality=request.locality,
        month=month_of(decided_at),
        service_request_id=request.service_request_id,
        service=request.service,
        seconds=int(taken.total_seconds()),
        working_days=WorkingCalendar().working_days_between(received_on, decided_on),
        on_time=request.due is None or decided_on <= date.fromisoformat(request.due),
    )


class LocalityStatsProjection(TableProjection[LocalityStatsView]):
    """Counts office work by the handling locality and the month it happened in; a case's
    completion and rating count for every locality that handled one of its requests."""

    name = "locality_stats"
    topics = topics_of(
        ServiceRequest.Planned,
        ServiceRequest.Replanned,
        ServiceRequest.Routed,
        ServiceRequest.Received,
        ServiceRequest.DeemedAccepted,
        ServiceRequest.Supplemented,
        ServiceRequest.Approved,
        ServiceRequest.Rejected,
        BirthCase.Completed,
        BirthCase.Rated,
    )

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Other events are not counted."""

    @apply.register
    def _(self, event: ServiceRequest.Planned, position: int, rows: Rows) -> None:
        request_id, case_id = str(event.originator_id), str(event.case_id)
        locality = event.route.handling_locality
        rows.put(REQUESTS, RequestRow(request_id, case_id, event.service, locality, None, None))
        case = rows.get(CASES, case_id) or CaseRow(case_id, ())
        rows.put(CASES, changed(case, requests=(*case.requests, request_id)))

    @apply.register
    def _(self, event: ServiceRequest.Replanned, position: int, rows: Rows) -> None:
        request = self._request(rows, event)
        rows.put(REQUESTS, changed(request, locality=event.route.handling_locality))

    @apply.register
    def _(self, event: ServiceRequest.Routed, position: int, rows: Rows) -> None:
        request = self._request(rows, event)
        rows.put(REQUESTS, changed(request, locality=event.route.handling_locality))

    @apply.register
    def _(self, event: ServiceRequest.Received, position: int, rows: Rows) -> None:
        request, at = self._request(rows, event), stamp(event)
        rows.put(REQUESTS, changed(request, received_at=at, due=event.due))
        _count(rows, request.locality, month_of(at), received=1)

    @apply.register
    def _(self, event: ServiceRequest.DeemedAccepted, position: int, rows: Rows) -> None:
        """Accepted by law (Art. 32): counted as received when it was recorded."""
        request = self._request(rows, event)
        rows.put(REQUESTS, changed(request, received_at=stamp(event), due=event.due))
        _count(rows, request.locality, month_of(stamp(event)), received=1)

    @apply.register
    def _(self, event: ServiceRequest.Supplemented, position: int, rows: Rows) -> None:
        """The family answered after acceptance: the office's time limit starts again, and
        its decision is on time by the new due date (domain reference §4.2)."""
        if event.resumes == "received":
            request = self._request(rows, event)
            rows.put(REQUESTS, changed(request, due=event.due))

    @apply.register
    def _(self, event: ServiceRequest.Approved, position: int, rows: Rows) -> None:
        self._decided(rows, event, approved=1)

    @apply.register
    def _(self, event: ServiceRequest.Rejected, position: int, rows: Rows) -> None:
        if event.officer == BY_DEADLINE:
            return  # the family let its notice lapse: no office decided, nothing to count
        self._decided(rows, event, rejected=1)

    @apply.register
    def _(self, event: BirthCase.Completed, position: int, rows: Rows) -> None:
        month = month_of(stamp(event))
        for locality in _case_localities(rows, str(event.originator_id)):
            _count(rows, locality, month, completed=1)

    @apply.register
    def _(self, event: BirthCase.Rated, position: int, rows: Rows) -> None:
        at = stamp(event)
        month, bad = month_of(at), int(event.score <= BAD_RATING)
        case_id = str(event.originator_id)
        for locality in _case_localities(rows, case_id):
            _count(rows, locality, month, ratings=1, rating_sum=event.score, bad_ratings=bad)
            if bad:
                rows.put(FOLLOW_UPS, FollowUpRow(locality, month, case_id, event.score, at))

    @staticmethod
    def _request(rows: Rows, event: Any) -> RequestRow:
        request_id = str(event.originator_id)
        return require(rows.get(REQUESTS, request_id), "service request", request_id)

    def _decided(self, rows: Rows, event: Any, **outcome: int) -> None:
        request, at = self._request(rows, event), stamp(event)
        sample = _sample(request, at)
        if sample is not None:
            rows.put(SAMPLES, sample)
        on_time = int(sample.on_time) if sample else 0
        _count(rows, request.locality, month_of(at), decided=1, on_time=on_time, **outcome)
