"""remote_window_sessions: the remote virtual window sessions of each office, and the
monitors' counts per locality and month.

A session is listed for both its offices (the receiving and the handling one), with its state,
slot, request, service and case; no personal data (the booking's note and the outcome stay in
the ledger: the session's own read shows them to its offices). The counts per locality (each
office's county) and month in China time: sessions booked (the month of their booking), held
(ended, the month they ended) and cancelled (the month they were cancelled).
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import singledispatchmethod
from typing import Any

from domain.kernel.remote_window import LIVE, RemoteWindowSession, SessionState
from engine.memory import InMemoryTables
from engine.rows import Rows, Table, changed
from engine.view import TableProjection, TableView
from projections.events import month_of, stamp, topics_of
from projections.locality_figures import levels


@dataclass(frozen=True)
class SessionRow:
    """One session as one of its offices lists it."""

    locality: str
    authority: str
    session_id: str
    side: str  # "receiving" or "handling": this office's part
    other_locality: str  # the other office's county
    service_request_id: str
    case_id: str
    service: str
    state: str
    starts_at: str
    ends_at: str
    booked_at: str
    updated_at: str
    live: bool  # booked or in progress (listed and counted by the store, not in Python)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MonthRow:
    """A place's sessions in one month (China time): `locality` is a county (6 digits), a
    city (4) or a province (2)."""

    locality: str
    month: str
    booked: int
    held: int
    cancelled: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SESSIONS = Table(
    "sessions",
    SessionRow,
    ("session_id", "side"),
    indexes=[
        ("locality", "authority", "starts_at"),
        ("locality", "authority", "live", "starts_at"),
        ("live", "side", "starts_at"),
    ],
)
MONTHS = Table("months", MonthRow, ("locality", "month"))
ORDER = ("starts_at", "session_id")


class RemoteWindowSessionsView(TableView, ABC):
    """An office's sessions, and a locality's monthly counts."""

    name = "remote_window_sessions"
    tables = (SESSIONS, MONTHS)
    revision = 2  # months counted per county, city and province (each session once a place)

    def office(
        self,
        locality: str,
        authority: str,
        *,
        live_only: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[SessionRow], int]:
        """A page of the office's sessions and how many there are: `live_only` (booked or in
        progress), soonest slot first; else every session, newest slot first."""
        where: dict[str, object] = {"locality": locality, "authority": authority}
        if live_only:
            where["live"] = True
        total = self.count(SESSIONS, where)
        if live_only:
            return self.select(SESSIONS, where, order_by=ORDER, limit=limit, offset=offset), total
        # newest first: the same page counted from the end of the ascending order
        start = max(total - offset - limit, 0)
        size = max(min(limit, total - offset), 0)
        page = (
            self.select(SESSIONS, where, order_by=ORDER, limit=size, offset=start) if size else []
        )
        return list(reversed(page)), total

    def live_sessions(self) -> list[SessionRow]:
        """Every live session once (its handling office's row), soonest slot first: the
        deadline job's round over booked sessions whose day is over."""
        return self.select(SESSIONS, {"live": True, "side": "handling"}, order_by=ORDER)

    def live_of(self, locality: str, authority: str) -> list[SessionRow]:
        """The office's live sessions (to find a slot taken): few, the store filters them."""
        where = {"locality": locality, "authority": authority, "live": True}
        return self.select(SESSIONS, where, order_by=ORDER)

    def months(self, locality: str) -> list[MonthRow]:
        return list(self.select(MONTHS, {"locality": locality}, order_by=("month",)))

    def month(self, locality: str, month: str) -> MonthRow:
        """A place's sessions of the month: a county, a city (4 digits) or a province (2),
        each session once where either of its offices is."""
        found = self.get(MONTHS, locality, month)
        return found or MonthRow(locality, month, 0, 0, 0)


class InMemoryRemoteWindowSessions(InMemoryTables, RemoteWindowSessionsView):
    """remote_window_sessions in memory, for unit tests."""


class RemoteWindowSessionsProjection(TableProjection[RemoteWindowSessionsView]):
    """Lists each session for both its offices and counts them per locality and month."""

    name = "remote_window_sessions"
    topics = topics_of(
        RemoteWindowSession.Booked,
        RemoteWindowSession.Started,
        RemoteWindowSession.Ended,
        RemoteWindowSession.Cancelled,
    )

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Other events change no session's row."""

    @apply.register
    def _(self, event: RemoteWindowSession.Booked, position: int, rows: Rows) -> None:
        at = stamp(event)
        offices = ((event.receiving, event.handling), (event.handling, event.receiving))
        for (office, other), side in zip(offices, ("receiving", "handling"), strict=True):
            row = SessionRow(
                locality=office.locality,
                authority=office.authority,
                session_id=str(event.originator_id),
                side=side,
                other_locality=other.locality,
                service_request_id=str(event.service_request_id),
                case_id=str(event.case_id),
                service=event.service,
                state=SessionState.BOOKED.value,
                starts_at=event.slot.starts_at,
                ends_at=event.slot.ends_at,
                booked_at=at,
                updated_at=at,
                live=True,
            )
            rows.put(SESSIONS, row)
        places = (event.receiving.locality, event.handling.locality)
        _count(rows, places, month_of(at), "booked")

    @apply.register
    def _(self, event: RemoteWindowSession.Started, position: int, rows: Rows) -> None:
        _moved(rows, event, SessionState.IN_PROGRESS, None)

    @apply.register
    def _(self, event: RemoteWindowSession.Ended, position: int, rows: Rows) -> None:
        _moved(rows, event, SessionState.ENDED, "held")

    @apply.register
    def _(self, event: RemoteWindowSession.Cancelled, position: int, rows: Rows) -> None:
        _moved(rows, event, SessionState.CANCELLED, "cancelled")


def _moved(rows: Rows, event: Any, state: SessionState, counted: str | None) -> None:
    """Both offices' rows of the session take the new state (and the month's count)."""
    at = stamp(event)
    session = str(event.originator_id)
    places = []
    for side in ("receiving", "handling"):
        row = rows.get(SESSIONS, session, side)
        if row is None:
            continue
        live = state in LIVE
        rows.put(SESSIONS, changed(row, state=state.value, updated_at=at, live=live))
        places.append(row.locality)
    if counted is not None:
        _count(rows, places, month_of(at), counted)


def _count(rows: Rows, places: Iterable[str], month: str, what: str) -> None:
    """One more session of the month in each place either office is in: its county, city and
    province, each once (a session between two counties of one city counts once there)."""
    for key in sorted({key for place in places for key in levels(place)}):
        row = rows.get(MONTHS, key, month) or MonthRow(key, month, 0, 0, 0)
        rows.put(MONTHS, changed(row, **{what: getattr(row, what) + 1}))
