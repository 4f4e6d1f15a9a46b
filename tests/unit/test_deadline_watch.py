"""The deadline job as an application service, over an in-memory query and write side."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import date
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import RecordConflictError

from domain.kernel.deadlines import DeadlineWatch, ReceivedRequest

TUESDAY = date(2026, 11, 10)


class Received:
    """Received requests in due order, in pages of two; counts the pages read."""

    def __init__(self, *requests: ReceivedRequest) -> None:
        self.requests, self.read = sorted(requests, key=lambda r: r.due), 0

    def pages(self) -> Iterator[Iterable[ReceivedRequest]]:
        for start in range(0, len(self.requests), 2):
            self.read += 1
            yield self.requests[start : start + 2]


class Warnings:
    """Records one warning per request (as a request does), or raises a conflict."""

    def __init__(self, today: date, conflicting: frozenset[UUID] = frozenset()) -> None:
        self.day, self.conflicting = today, conflicting
        self.loaded: list[UUID] = []
        self.warned: set[UUID] = set()

    def today(self) -> date:
        return self.day

    def watch_deadline(self, request_id: UUID) -> bool:
        self.loaded.append(request_id)
        if request_id in self.conflicting:
            raise RecordConflictError("recorded meanwhile")
        new = request_id not in self.warned
        self.warned.add(request_id)
        return new


def due(day: int, *, soon: bool = False) -> ReceivedRequest:
    return ReceivedRequest(uuid4(), date(2026, 11, day), soon)


def test_late_and_near_requests_are_warned_and_the_read_stops_at_the_first_not_near() -> None:
    late, near, later = due(5), due(11), [due(12), due(13), due(16), due(17)]
    received, warnings = Received(late, near, *later), Warnings(TUESDAY)
    assert DeadlineWatch(received, warnings).run() == 2
    assert warnings.loaded == [late.request_id, near.request_id]
    assert received.read == 2  # the second page holds the first request not yet near


def test_a_near_request_the_query_shows_as_due_soon_is_not_loaded() -> None:
    warnings = Warnings(TUESDAY)
    assert DeadlineWatch(Received(due(11, soon=True)), warnings).run() == 0
    assert warnings.loaded == []


def test_a_late_request_is_loaded_even_if_shown_due_soon() -> None:
    late = due(9, soon=True)
    assert DeadlineWatch(Received(late), Warnings(TUESDAY)).run() == 1


def test_a_warning_already_recorded_is_not_counted_again() -> None:
    late, warnings = due(5), Warnings(TUESDAY)
    watch = DeadlineWatch(Received(late), warnings)
    assert (watch.run(), watch.run()) == (1, 0)


def test_a_request_that_changes_while_checked_waits_for_the_next_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = due(5), due(6)
    warnings = Warnings(TUESDAY, conflicting=frozenset({first.request_id}))
    with caplog.at_level(logging.INFO, logger="domain.kernel.deadlines"):
        assert DeadlineWatch(Received(first, second), warnings).run() == 1
    assert warnings.warned == {second.request_id}
    assert "deadline job: a request changed while it was checked; next run" in caplog.messages


def test_nothing_received_warns_nothing() -> None:
    received = Received()
    assert DeadlineWatch(received, Warnings(TUESDAY)).run() == 0
    assert received.read == 0
