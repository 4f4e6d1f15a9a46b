"""matters: the monitor's figures per matter (a wing's kind: 出生一件事, marriage, ID cards …)
and service, for every wing the ledger carries.

Per place (county, city and province, as locality_stats keys them) and month (China time, of
the event): requests received (or deemed accepted), decided, approved, rejected and decided on
time, counted in the handling locality as locality_stats counts them (so a place's matters add
up to its figures). And per month, matter and service, the flows of requests from the
receiving province to the handling province: how many were received and decided. The places
come from each request's route (planned, replanned, or routed by a coordinator). No personal
data: services, places and counts.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import asdict, dataclass
from datetime import date
from functools import singledispatchmethod
from typing import Any

from domain.kernel.service_request import BY_DEADLINE, ServiceRequest
from domain.wings import kind_of_service, matter_names, service_names
from engine.memory import InMemoryTables
from engine.rows import Rows, Table, changed, require
from engine.view import TableProjection, TableView
from projections.events import cst_date, month_of, province, stamp, topics_of
from projections.locality_figures import levels

UNKNOWN_KIND = "unknown"  # a service no carried wing has (its wing was carried for a while)
COUNTS = ("received", "decided", "approved", "rejected", "on_time")


@dataclass(frozen=True)
class MatterRequestRow:
    """What a request's counts need: its matter and service, its places (the latest route)
    and, once received, when and by which due date it is to be decided."""

    service_request_id: str
    kind: str
    service: str
    handling_locality: str
    receiving_locality: str
    received_at: str | None = None
    due: str | None = None


@dataclass(frozen=True)
class MatterMonthRow:
    """The counts of one service (of one matter) in one place and month."""

    locality: str  # a level key: 2 digits (province), 4 (city) or 6 (county)
    month: str
    kind: str
    service: str
    received: int = 0
    decided: int = 0
    approved: int = 0
    rejected: int = 0
    on_time: int = 0  # decided on or before the due date


@dataclass(frozen=True)
class MatterFlowRow:
    """Requests of one service in one month from a receiving province to a handling one."""

    month: str
    kind: str
    service: str
    receiving_province: str
    handling_province: str
    received: int = 0
    decided: int = 0

    @property
    def cross_province(self) -> bool:
        return self.receiving_province != self.handling_province

    def to_dict(self) -> dict[str, Any]:
        kind_zh, kind_en = matter_names(self.kind)
        service_zh, service_en = service_names(self.service)
        return {
            **asdict(self),
            "cross_province": self.cross_province,
            "kind_name_zh": kind_zh,
            "kind_name_en": kind_en,
            "service_name_zh": service_zh,
            "service_name_en": service_en,
        }


REQUESTS = Table("requests", MatterRequestRow, ("service_request_id",))
MONTHS = Table("months", MatterMonthRow, ("locality", "month", "kind", "service"))
FLOWS = Table(
    "flows",
    MatterFlowRow,
    ("month", "kind", "service", "receiving_province", "handling_province"),
)


class MattersView(TableView, ABC):
    """Per place and month, per matter and service: received, decided, approved, rejected,
    on time; per month, matter and service: receiving province → handling province."""

    name = "matters"
    tables = (MONTHS, FLOWS, REQUESTS)

    def counts(self, locality: str, month: str) -> list[MatterMonthRow]:
        """`locality` is a level key: 2 digits (province), 4 (city) or 6 (county)."""
        where = {"locality": locality, "month": month}
        return self.select(MONTHS, where, order_by=("kind", "service"))

    def figures(self, locality: str, month: str) -> list[dict[str, Any]]:
        """The place's month per matter (its totals) and, within it, per service, with the
        names to show them by."""
        return matter_figures(self.counts(locality, month))

    def flows(self, month: str, kind: str | None = None) -> list[MatterFlowRow]:
        """The month's flows (of one matter, with `kind`)."""
        where = {"month": month} if kind is None else {"month": month, "kind": kind}
        order = ("kind", "service", "receiving_province", "handling_province")
        return self.select(FLOWS, where, order_by=order)


class InMemoryMatters(InMemoryTables, MattersView):
    """matters in memory, for unit tests."""


def _rate(counts: dict[str, int]) -> float | None:
    return round(counts["on_time"] / counts["decided"], 4) if counts["decided"] else None


def matter_figures(rows: list[MatterMonthRow]) -> list[dict[str, Any]]:
    """Rows of one place and month, grouped by matter: each matter's totals and services."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.kind not in found:
            name_zh, name_en = matter_names(row.kind)
            found[row.kind] = {
                "kind": row.kind,
                "name_zh": name_zh,
                "name_en": name_en,
                **dict.fromkeys(COUNTS, 0),
                "services": [],
            }
        matter = found[row.kind]
        counts = {name: getattr(row, name) for name in COUNTS}
        for name, value in counts.items():
            matter[name] += value
        name_zh, name_en = service_names(row.service)
        matter["services"].append(
            {
                "service": row.service,
                "name_zh": name_zh,
                "name_en": name_en,
                **counts,
                "on_time_rate": _rate(counts),
            }
        )
    for matter in found.values():
        matter["on_time_rate"] = _rate(matter)
    return list(found.values())


def _kind(service: str) -> str:
    try:
        return kind_of_service(service)
    except KeyError:
        return UNKNOWN_KIND


def _count(rows: Rows, request: MatterRequestRow, month: str, **increments: int) -> None:
    """At the handling county, its city and its province."""
    for key in levels(request.handling_locality):
        row = rows.get(MONTHS, key, month, request.kind, request.service)
        row = row or MatterMonthRow(key, month, request.kind, request.service)
        rows.put(MONTHS, changed(row, **{k: getattr(row, k) + v for k, v in increments.items()}))


def _flow(rows: Rows, request: MatterRequestRow, month: str, **increments: int) -> None:
    receiving, handling = province(request.receiving_locality), province(request.handling_locality)
    if not receiving or not handling:
        return  # a route without both places (none is received so): no flow to count
    key = (month, request.kind, request.service, receiving, handling)
    row = rows.get(FLOWS, *key) or MatterFlowRow(*key)
    rows.put(FLOWS, changed(row, **{k: getattr(row, k) + v for k, v in increments.items()}))


def _on_time(request: MatterRequestRow, decided_at: str) -> bool:
    """Decided on or before its due date (China dates), as locality_stats's samples are: a
    request decided without having been received is not."""
    if request.received_at is None:
        return False
    return request.due is None or cst_date(decided_at) <= date.fromisoformat(request.due)


class MattersProjection(TableProjection[MattersView]):
    """Counts each request's receipt in the month it was received and its decision in the
    month it was decided, in its handling place and in its receiving → handling flow, under
    its matter (the kind of the wing its service belongs to) and service."""

    name = "matters"
    topics = topics_of(
        ServiceRequest.Planned,
        ServiceRequest.Replanned,
        ServiceRequest.Routed,
        ServiceRequest.Received,
        ServiceRequest.DeemedAccepted,
        ServiceRequest.Supplemented,
        ServiceRequest.Approved,
        ServiceRequest.Rejected,
    )

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Other events are not counted."""

    @apply.register
    def _(self, event: ServiceRequest.Planned, position: int, rows: Rows) -> None:
        route = event.route
        row = MatterRequestRow(
            str(event.originator_id),
            _kind(event.service),
            event.service,
            route.handling_locality,
            route.receiving_locality,
        )
        rows.put(REQUESTS, row)

    @apply.register
    def _(self, event: ServiceRequest.Replanned, position: int, rows: Rows) -> None:
        self._routed(rows, event)

    @apply.register
    def _(self, event: ServiceRequest.Routed, position: int, rows: Rows) -> None:
        self._routed(rows, event)

    @apply.register
    def _(self, event: ServiceRequest.Received, position: int, rows: Rows) -> None:
        self._received(rows, event, event.due)

    @apply.register
    def _(self, event: ServiceRequest.DeemedAccepted, position: int, rows: Rows) -> None:
        """Accepted by law (Art. 32): counted as received when it was recorded."""
        self._received(rows, event, event.due)

    @apply.register
    def _(self, event: ServiceRequest.Supplemented, position: int, rows: Rows) -> None:
        """The family answered after acceptance: the decision is on time by the new due."""
        if event.resumes == "received":
            rows.put(REQUESTS, changed(self._request(rows, event), due=event.due))

    @apply.register
    def _(self, event: ServiceRequest.Approved, position: int, rows: Rows) -> None:
        self._decided(rows, event, approved=1)

    @apply.register
    def _(self, event: ServiceRequest.Rejected, position: int, rows: Rows) -> None:
        if event.officer == BY_DEADLINE:
            return  # the family let its notice lapse: no office decided, nothing to count
        self._decided(rows, event, rejected=1)

    @staticmethod
    def _request(rows: Rows, event: Any) -> MatterRequestRow:
        request_id = str(event.originator_id)
        return require(rows.get(REQUESTS, request_id), "service request", request_id)

    def _routed(self, rows: Rows, event: Any) -> None:
        route = event.route
        places = {
            "handling_locality": route.handling_locality,
            "receiving_locality": route.receiving_locality,
        }
        rows.put(REQUESTS, changed(self._request(rows, event), **places))

    def _received(self, rows: Rows, event: Any, due: str) -> None:
        at = stamp(event)
        request = changed(self._request(rows, event), received_at=at, due=due)
        rows.put(REQUESTS, request)
        _count(rows, request, month_of(at), received=1)
        _flow(rows, request, month_of(at), received=1)

    def _decided(self, rows: Rows, event: Any, **outcome: int) -> None:
        request, at = self._request(rows, event), stamp(event)
        month, on_time = month_of(at), int(_on_time(request, at))
        _count(rows, request, month, decided=1, on_time=on_time, **outcome)
        _flow(rows, request, month, decided=1)
