"""The deadline job's query port over the office_queue view: received requests by due date."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from uuid import UUID

from domain.kernel.deadlines import ParkedRequest, ReceivedRequest
from projections.office_queue import REQUESTS, OfficeQueueView, RequestRow
from projections.routing_desk import WAITING, RoutingDeskView

PAGE = 1_000  # received requests read at a time
ORDER = ("due", "service_request_id")


class OfficeQueueReceived:
    """Received requests not marked overdue, in due order, a page after the other (by key);
    with `state="dispatched"`, the requests at their receiving window (its own clock).

    A received request always has a due date (its receipt or last supplement gave it one),
    and so has a dispatched one (ReceivingDue, recorded with its dispatch; only requests
    dispatched before that event existed have none, and are skipped), so the key is whole.
    What it reads follows the requests near or past due whose warning is new, not the
    requests open or kept.
    """

    def __init__(self, view: OfficeQueueView, state: str = "received") -> None:
        self.view, self.state = view, state

    def pages(self) -> Iterator[Iterable[ReceivedRequest]]:
        where = {"state": self.state, "overdue": False}
        after = tuple[str, ...]()
        while rows := self.view.select(REQUESTS, where, order_by=ORDER, limit=PAGE, after=after):
            yield (_received(row) for row in rows if row.due is not None)  # read as far as needed
            last = rows[-1]
            if last.due is None:
                return
            after = (last.due, last.service_request_id)


def _received(row: RequestRow) -> ReceivedRequest:
    assert row.due is not None
    return ReceivedRequest(UUID(row.service_request_id), date.fromisoformat(row.due), row.due_soon)


class DeskParked:
    """The routing watch's query port over the routing_desk view: parked requests not yet
    marked overdue, in due order, a page after the other (by key)."""

    def __init__(self, view: RoutingDeskView) -> None:
        self.view = view

    def pages(self) -> Iterator[Iterable[ParkedRequest]]:
        where = {"overdue": False}
        after = tuple[str, ...]()
        order = ("due", "parked_since", "service_request_id")
        while rows := self.view.select(WAITING, where, order_by=order, limit=PAGE, after=after):
            yield (
                ParkedRequest(UUID(r.service_request_id), date.fromisoformat(r.due)) for r in rows
            )
            last = rows[-1]
            after = (last.due, last.parked_since, last.service_request_id)
