"""The deadline job: DeadlineApproaching / Overdue, once each, for received requests near or
past due. An application service over two ports: a query of the received requests (a view,
in adapters/) and the write side that records a warning (the CaseLedger)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from domain.kernel.calendar import WorkingCalendar, deadline_kind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedRequest:
    """A received request as the query sees it: its due date, and whether it already shows
    the warning that a due date one working day away calls for."""

    request_id: UUID
    due: date
    due_soon: bool = False


class ReceivedRequests(Protocol):
    """Received requests not marked overdue, in due order (earliest first), a page at a time."""

    def pages(self) -> Iterator[Iterable[ReceivedRequest]]: ...


class DeadlineWarnings(Protocol):
    """The write side: today's date where offices count days, and a warning recorded once."""

    def today(self) -> date: ...

    def watch_deadline(self, request_id: UUID) -> bool:
        """Record the warning the request's due date calls for, once; True if recorded."""
        ...


@dataclass
class DeadlineWatch:
    """Why a service: the query reads the requests in due order and stops at the first with
    more than a working day left, and a request is loaded only when the query does not show
    the warning its due date calls for. The request records each warning once anyway, so a
    query that lags the log costs a load, never a second warning."""

    requests: ReceivedRequests
    warnings: DeadlineWarnings
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)

    def run(self) -> int:
        """One round of the job; the number of warnings recorded."""
        today, recorded = self.warnings.today(), 0
        for request in self._due_by(today):
            try:
                recorded += self.warnings.watch_deadline(request.request_id)
            except RecordConflictError:  # another process recorded an event of it meanwhile
                log.info("deadline job: a request changed while it was checked; next run")
        return recorded

    def _due_by(self, today: date) -> Iterator[ReceivedRequest]:
        """The requests near or past due whose warning is new to the query, in due order."""
        for page in self.requests.pages():
            for request in page:
                kind = deadline_kind(request.due, today, self.calendar)
                if kind is None:
                    return  # every later request is due later still
                if kind == "approaching" and request.due_soon:
                    continue
                yield request


# --- the routing desk's clock --------------------------------------------------------------
@dataclass(frozen=True)
class ParkedRequest:
    """A request waiting at the routing desk, as the query sees it: when it must be routed."""

    request_id: UUID
    due: date


class ParkedRequests(Protocol):
    """Parked requests not marked overdue, in due order (earliest first), a page at a time."""

    def pages(self) -> Iterator[Iterable[ParkedRequest]]: ...


class RoutingWarnings(Protocol):
    """The write side: today's date, and RoutingOverdue recorded once."""

    def today(self) -> date: ...

    def watch_routing(self, request_id: UUID) -> bool:
        """Record RoutingOverdue when the request is parked past its desk's time; True if so."""
        ...


@dataclass
class RoutingWatch:
    """The overdue warning of the routing desk: a request still unrouted after the desk's
    working days records RoutingOverdue once (the desk and the family's view show it)."""

    requests: ParkedRequests
    warnings: RoutingWarnings

    def run(self) -> int:
        today, recorded = self.warnings.today(), 0
        for page in self.requests.pages():
            for request in page:
                if request.due >= today:
                    return recorded  # every later request is due later still
                try:
                    recorded += self.warnings.watch_routing(request.request_id)
                except RecordConflictError:
                    log.info("routing watch: a request changed while it was checked; next run")
        return recorded


class LapsedWindows(Protocol):
    """Cases whose family's window to act on a rejection ended before `today`, due first."""

    def lapsed(self, today: date) -> Iterable[UUID]: ...


class WindowClosing(Protocol):
    """The write side: today's date, and closing a case whose every window has passed (it
    checks again: a resubmission or an office still at work keeps the case open)."""

    def today(self) -> date: ...

    def close_lapsed(self, case_id: UUID) -> bool: ...


@dataclass
class WindowWatch:
    """The deadline job's second round: a case whose family neither resubmitted nor closed it
    within its window after a rejection is closed, so that it never waits on nobody."""

    windows: LapsedWindows
    cases: WindowClosing

    def run(self) -> int:
        """One round; the number of cases closed."""
        closed = 0
        for case_id in self.windows.lapsed(self.cases.today()):
            try:
                closed += self.cases.close_lapsed(case_id)
            except RecordConflictError:  # the family acted meanwhile: the next run sees it
                log.info("deadline job: a case changed while it was closed; next run")
        return closed
