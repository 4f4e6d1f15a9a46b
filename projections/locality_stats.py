"""locality_stats: per handling place per month (China time): volumes, times, ratings, and
the bad ratings to call back. Each county's figures are also kept for its city and its
province (levels), so a roll-up is one row read and its percentiles come from pooled samples."""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any

from domain.births.birth_case import BirthCase
from domain.idcards.case import IdCardCase
from domain.kernel.rating import BAD_RATING, DECIDED
from domain.kernel.service_request import BY_DEADLINE, RequestState, ServiceRequest
from domain.marriage.case import MarriageCase
from domain.wings import materials_of
from engine.memory import InMemoryTables
from engine.rows import Rows, Table, changed, require
from engine.view import TableProjection, TableView
from projections.events import month_of, stamp, topics_of
from projections.locality_figures import LocalityFigures as LocalityFigures
from projections.locality_figures import (
    MonthRow,
    SampleRow,
    figures,
    levels,
    sample,
)
from projections.locality_figures import nearest_rank as nearest_rank

LEVEL_COLUMNS = {2: "province", 4: "city", 6: "locality"}


@dataclass(frozen=True)
class RequestRow:
    """What a decision needs to know about its request: where, and since when; and what a
    rating of version 1 needs to find its unit: the request's state, when it last moved
    (its last event) and whether a resubmission replaced it; which attempt it is and the
    items of its one-time notice awaiting the family's answer (the materials figure)."""

    service_request_id: str
    case_id: str
    service: str
    locality: str
    received_at: str | None
    due: str | None
    authority: str = ""
    decided_at: str | None = None
    state: str = RequestState.PLANNED.value
    moved_at: str = ""
    resubmitted: bool = False
    receiving: str = ""  # the receiving window's locality: a cross-province material's test
    attempt: int = 1  # 1, or the resubmission's number: only a first attempt's list counts
    notice: tuple[str, ...] = ()  # the open notice's items (SupplementRequested.items)


@dataclass(frozen=True)
class CaseRow:
    """The requests of a case, to credit its completion and rating to their localities."""

    case_id: str
    requests: tuple[str, ...]


@dataclass(frozen=True)
class FollowUpRow:
    """A bad rating (1-2) to call back: its unit answers for it (谁办理、谁负责). No personal
    data: the case by its id only; the family's comment stays on the case (read from there,
    audited)."""

    case_id: str
    province: str
    city: str
    locality: str  # the unit: its handling locality and authority
    authority: str
    service: str  # the rated service (the one the rating implies: domain/kernel/rating.py)
    month: str
    score: int
    rated_at: str
    due: str  # the call-back's due date (working days), "" for a rating of version 1
    call_backs: int = 0
    called_back_at: str | None = None  # the first call-back
    outcome: str | None = None  # the latest call-back's
    called_back_by: str | None = None  # the latest call-back's role: office | monitor


MONTHS = Table("months", MonthRow, ("locality", "month"))
FOLLOW_UPS = Table(
    "follow_ups",
    FollowUpRow,
    ("case_id",),
    indexes=[
        ("province", "month"),
        ("city", "month"),
        ("locality", "month"),
        ("locality", "authority"),
    ],
)
SAMPLES = Table("samples", SampleRow, ("locality", "month", "service_request_id"))
REQUESTS = Table("requests", RequestRow, ("service_request_id",))
CASES = Table("cases", CaseRow, ("case_id",))


class LocalityStatsView(TableView, ABC):
    """Per place (county, city, province) per month: received, decided, completed, time to
    result, on-time rate and ratings; and the bad ratings to call back."""

    name = "locality_stats"
    # 2: a notice counts what the office asked, de-duplicated, its listed materials not again
    # as required; a resubmission does not count its service's list again
    revision = 2
    tables = (MONTHS, SAMPLES, REQUESTS, CASES, FOLLOW_UPS)

    def figures(self, locality: str, month: str) -> LocalityFigures:
        """`locality` is a level key: 2 digits (province), 4 (city) or 6 (county)."""
        counts = self.get(MONTHS, locality, month) or MonthRow(locality, month)
        where = {"locality": locality, "month": month}
        return figures(counts, self.select(SAMPLES, where, order_by=("service_request_id",)))

    def follow_ups(self, locality: str, month: str) -> list[FollowUpRow]:
        """The month's bad ratings answered for by units in the place (a level key)."""
        where = {LEVEL_COLUMNS[len(locality)]: locality, "month": month}
        return self.select(FOLLOW_UPS, where, order_by=("rated_at", "case_id"))

    def unit_follow_ups(self, locality: str, authority: str) -> list[FollowUpRow]:
        """Every bad rating one unit (an office) answers for, due first."""
        where = {"locality": locality, "authority": authority}
        return self.select(FOLLOW_UPS, where, order_by=("due", "rated_at", "case_id"))

    def follow_up(self, case_id: str) -> FollowUpRow | None:
        return self.get(FOLLOW_UPS, case_id)

    def months(self, locality: str) -> list[str]:
        found = self.select(MONTHS, {"locality": locality}, order_by=("month",))
        return [row.month for row in found]


class InMemoryLocalityStats(InMemoryTables, LocalityStatsView):
    """locality_stats in memory, for unit tests."""


def _count(rows: Rows, locality: str, month: str, **increments: int) -> None:
    """Counts at the county and, once each, at its city and its province."""
    for key in levels(locality):
        _count_at(rows, key, month, **increments)


def _count_at(rows: Rows, key: str, month: str, **increments: int) -> None:
    row = rows.get(MONTHS, key, month) or MonthRow(key, month)
    rows.put(MONTHS, changed(row, **{k: getattr(row, k) + v for k, v in increments.items()}))


def _case_requests(rows: Rows, case_id: str) -> list[RequestRow]:
    case = rows.get(CASES, case_id) or CaseRow(case_id, ())
    return [require(rows.get(REQUESTS, r), "service request", r) for r in case.requests]


def _case_places(rows: Rows, case_id: str) -> list[str]:
    """Every place (each level) that handled one of the case's requests, each once."""
    places = {key for r in _case_requests(rows, case_id) for key in levels(r.locality)}
    return sorted(places)


def _implied_unit(rows: Rows, case_id: str) -> RequestRow | None:
    """A rating of version 1 names no unit: the one `rated_unit` (domain/kernel/rating.py)
    implies. Of the case's latest requests, the one decided last, else the one that moved
    last (None: the case had no request)."""
    latest = [r for r in _case_requests(rows, case_id) if not r.resubmitted]
    pool = [r for r in latest if r.state in DECIDED] or latest
    return max(pool, key=lambda r: (r.moved_at, r.service), default=None)


def _materials(request: RequestRow) -> dict[str, int]:
    """The materials a received request required, by how each was satisfied (the lists of the
    request's wing: births', domain/births/reference/materials.json). A resubmission
    (attempt > 1) is the same
    matter asked again: its list was counted with the first attempt, so it counts none (the
    Wenzhou measure is per matter). A change to those lists that should recount past months
    needs this view's `revision` raised (a rebuild)."""
    materials = materials_of(request.service)
    if request.attempt > 1 or materials is None:
        return {}
    tally = materials.tally(request.service, request.receiving, request.locality)
    return {
        "materials_required": tally.required,
        "materials_shared": tally.shared,
        "materials_certificate": tally.certificate,
        "materials_family": tally.family,
        "materials_in_application": tally.in_application,
    }


def _sample(request: RequestRow, decided_at: str) -> SampleRow | None:
    if request.received_at is None:
        return None
    return sample(
        (request.locality, request.service_request_id, request.service),
        (request.received_at, decided_at),
        request.due,
    )


# a request's events this view reads only as moves: the state each leaves it in (None: as it
# was), so that a rating of version 1 finds the unit `rated_unit` implies
MOVES: dict[type, RequestState | None] = {
    ServiceRequest.Dispatched: RequestState.DISPATCHED,
    ServiceRequest.Withdrawn: RequestState.WITHDRAWN,
    ServiceRequest.Blocked: RequestState.BLOCKED,
    ServiceRequest.CorrectionRequested: RequestState.CORRECTION_REQUESTED,
    ServiceRequest.CorrectionApproved: RequestState.APPROVED,
    ServiceRequest.CorrectionRejected: RequestState.APPROVED,
    ServiceRequest.CorrectionWithdrawn: RequestState.APPROVED,
    ServiceRequest.RevocationRequested: RequestState.REVOCATION_REQUESTED,
    ServiceRequest.Revoked: RequestState.REVOKED,
    ServiceRequest.CorrectionFlagged: None,
    ServiceRequest.Resubmitted: None,
    ServiceRequest.DeadlineApproaching: None,
    ServiceRequest.Overdue: None,
    ServiceRequest.Delivered: None,
    ServiceRequest.DeliveryFailed: None,
    ServiceRequest.RoutingOverdue: None,
    ServiceRequest.Redispatched: None,
}


# every wing's rated case (domain/kernel/rating.py): no store made before the marriage and ID
# card wings' ratings holds one of theirs, so counting them needs no rebuild (no revision)
RATED = (BirthCase.Rated, MarriageCase.Rated, IdCardCase.Rated)
CALLED_BACK = (BirthCase.CalledBack, MarriageCase.CalledBack, IdCardCase.CalledBack)


class LocalityStatsProjection(TableProjection[LocalityStatsView]):
    """Counts office work by the handling locality (and its city and province) and the month
    it happened in; a case's completion counts once in each place that handled one of its
    requests, its rating once, in the unit that answers for it."""

    name = "locality_stats"
    topics = topics_of(
        ServiceRequest.Planned,
        ServiceRequest.Replanned,
        ServiceRequest.Routed,
        ServiceRequest.Received,
        ServiceRequest.DeemedAccepted,
        ServiceRequest.SupplementRequested,
        ServiceRequest.Supplemented,
        ServiceRequest.Approved,
        ServiceRequest.Rejected,
        *MOVES,
        BirthCase.Completed,
        *RATED,
        *CALLED_BACK,
    )

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Other events are not counted; a request's other events move it (MOVES)."""
        if type(event) not in MOVES:
            return
        state, changes = MOVES[type(event)], dict[str, Any]()
        if state is not None:
            changes["state"] = state.value
        if isinstance(event, ServiceRequest.Resubmitted):
            changes["resubmitted"] = True  # the latest attempt is the new request
        self._moved(rows, event, **changes)

    @apply.register
    def _(self, event: ServiceRequest.Planned, position: int, rows: Rows) -> None:
        request_id, case_id = str(event.originator_id), str(event.case_id)
        route = event.route
        row = RequestRow(request_id, case_id, event.service, route.handling_locality, None, None)
        where = {"authority": route.authority, "receiving": route.receiving_locality}
        rows.put(REQUESTS, changed(row, moved_at=stamp(event), attempt=event.attempt, **where))
        case = rows.get(CASES, case_id) or CaseRow(case_id, ())
        rows.put(CASES, changed(case, requests=(*case.requests, request_id)))

    @apply.register
    def _(self, event: ServiceRequest.Replanned, position: int, rows: Rows) -> None:
        self._routed(rows, event)

    @apply.register
    def _(self, event: ServiceRequest.Routed, position: int, rows: Rows) -> None:
        self._routed(rows, event)

    @apply.register
    def _(self, event: ServiceRequest.Received, position: int, rows: Rows) -> None:
        request, at = self._request(rows, event), stamp(event)
        self._moved(rows, event, received_at=at, due=event.due, state=RequestState.RECEIVED.value)
        _count(rows, request.locality, month_of(at), received=1, **_materials(request))

    @apply.register
    def _(self, event: ServiceRequest.DeemedAccepted, position: int, rows: Rows) -> None:
        """Accepted by law (Art. 32): counted as received when it was recorded."""
        request, at = self._request(rows, event), stamp(event)
        self._moved(rows, event, received_at=at, due=event.due, state=RequestState.RECEIVED.value)
        _count(rows, request.locality, month_of(at), received=1, **_materials(request))

    @apply.register
    def _(self, event: ServiceRequest.SupplementRequested, position: int, rows: Rows) -> None:
        """The one-time notice: what it asks for counts once the family answers it."""
        state = RequestState.SUPPLEMENT_REQUESTED.value
        self._moved(rows, event, state=state, notice=tuple(event.items))

    @apply.register
    def _(self, event: ServiceRequest.Supplemented, position: int, rows: Rows) -> None:
        """The family answered after acceptance: the office's time limit starts again, and
        its decision is on time by the new due date (domain reference §4.2). What the notice
        asked for counts, in the month of the answer, once per notice: its distinct items,
        those not a listed material of the service also as required and the family's
        (`MaterialsCatalog.notice`; the family's own free text is not counted)."""
        request, month = self._request(rows, event), month_of(stamp(event))
        self._moved(rows, event, state=RequestState(event.resumes).value, notice=())
        if event.resumes == "received":
            self._moved(rows, event, due=event.due)
        materials = materials_of(request.service)
        asked = materials and materials.notice(
            request.service, request.receiving, request.locality, request.notice
        )
        if asked and asked.asked:
            _count(
                rows,
                request.locality,
                month,
                materials_required=asked.unlisted,
                materials_family=asked.unlisted,
                materials_on_notice=asked.asked,
            )

    @apply.register
    def _(self, event: ServiceRequest.Approved, position: int, rows: Rows) -> None:
        self._moved(rows, event, state=RequestState.APPROVED.value)
        self._decided(rows, event, approved=1)

    @apply.register
    def _(self, event: ServiceRequest.Rejected, position: int, rows: Rows) -> None:
        self._moved(rows, event, state=RequestState.REJECTED.value)
        if event.officer == BY_DEADLINE:
            return  # the family let its notice lapse: no office decided, nothing to count
        self._decided(rows, event, rejected=1)

    @apply.register
    def _(self, event: BirthCase.Completed, position: int, rows: Rows) -> None:
        month = month_of(stamp(event))
        for place in _case_places(rows, str(event.originator_id)):
            _count_at(rows, place, month, completed=1)

    @apply.register
    def _(
        self,
        event: BirthCase.Rated | MarriageCase.Rated | IdCardCase.Rated,
        position: int,
        rows: Rows,
    ) -> None:
        """Counted once, in the unit the rating names (version 1: the one it implies), each
        wing's alike."""
        at, case_id = stamp(event), str(event.originator_id)
        unit = (event.locality, event.authority, event.service)
        if not event.locality:
            last = _implied_unit(rows, case_id)
            if last is None:
                return  # the case had no request: no unit answers for it
            unit = (last.locality, last.authority, last.service)
        month, bad = month_of(at), int(event.score <= BAD_RATING)
        _count(rows, unit[0], month, ratings=1, rating_sum=event.score, bad_ratings=bad)
        if bad:
            province, city, locality = levels(unit[0])
            rows.put(
                FOLLOW_UPS,
                FollowUpRow(
                    case_id,
                    province,
                    city,
                    locality,
                    unit[1],
                    unit[2],
                    month,
                    event.score,
                    at,
                    event.due,
                ),
            )

    @apply.register
    def _(
        self,
        event: BirthCase.CalledBack | MarriageCase.CalledBack | IdCardCase.CalledBack,
        position: int,
        rows: Rows,
    ) -> None:
        case_id = str(event.originator_id)
        row = require(rows.get(FOLLOW_UPS, case_id), "follow-up", case_id)
        rows.put(
            FOLLOW_UPS,
            changed(
                row,
                call_backs=row.call_backs + 1,
                called_back_at=row.called_back_at or stamp(event),
                outcome=event.outcome,
                called_back_by=event.by.split(":", 1)[0],
            ),
        )

    def _routed(self, rows: Rows, event: Any) -> None:
        route, receiving = event.route, event.route.receiving_locality
        where = {"locality": route.handling_locality, "authority": route.authority}
        self._moved(rows, event, receiving=receiving, **where)

    @staticmethod
    def _request(rows: Rows, event: Any) -> RequestRow:
        request_id = str(event.originator_id)
        return require(rows.get(REQUESTS, request_id), "service request", request_id)

    def _moved(self, rows: Rows, event: Any, **changes: Any) -> None:
        """The request's last event so far, with what it changed."""
        request = self._request(rows, event)
        rows.put(REQUESTS, changed(request, moved_at=stamp(event), **changes))

    def _decided(self, rows: Rows, event: Any, **outcome: int) -> None:
        request, at = self._request(rows, event), stamp(event)
        sample = _sample(request, at)
        if sample is not None:
            for key in levels(request.locality):
                rows.put(SAMPLES, changed(sample, locality=key))
        on_time = int(sample.on_time) if sample else 0
        rows.put(REQUESTS, changed(request, decided_at=at))
        _count(rows, request.locality, month_of(at), decided=1, on_time=on_time, **outcome)
