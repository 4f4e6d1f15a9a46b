"""Time limits in working days across National Day 2026, and the deadline job, on both stores."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import RecordConflictError

from adapters.bootstrap import Container
from domain.births.commands import NotifyBirth
from domain.kernel.service_request import ServiceRequest
from projections.case_status_model import SERVICES
from tests.conftest import make_facts, office_step

CST = timezone(timedelta(hours=8))


@pytest.fixture(autouse=True)
def _received_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests count the handling offices' warnings: the receiving windows' clocks (the
    other requests of each case, dispatched on the day) are tested in test_one_time_notice."""
    monkeypatch.setattr("adapters.bootstrap.WATCHED", ("received",))


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00+08:00")


def test_due_date_skips_the_holiday_and_counts_the_swapped_saturday(container: Container) -> None:
    outcome = container.ledger.notify_birth(
        NotifyBirth("m-d", make_facts(child_name="王小明"), b"{}")
    )
    container.after_command()
    request_id = ServiceRequest.create_id(outcome.case_id, "birth-certificate")
    container.ledger.clock = lambda: at("2026-09-30")  # Wednesday before National Day
    office_step(container.ledger, request_id, "receive", "officer", receipt_number="R-1")
    container.after_command()
    # 3 working days after 30 Sep: 8 Oct, 9 Oct, then Saturday 10 Oct (a swapped working day).
    assert container.ledger.get_request(request_id).due == "2026-10-10"

    container.ledger.clock = lambda: at("2026-10-05")  # in the holiday: 3 working days left
    assert container.watch_deadlines() == 0
    container.ledger.clock = lambda: at("2026-10-09")  # one working day left
    assert container.watch_deadlines() == 1
    assert container.watch_deadlines() == 0  # once only
    container.ledger.clock = lambda: at("2026-10-12")
    assert container.watch_deadlines() == 1
    assert container.watch_deadlines() == 0
    events = [type(e).__name__ for e in container.ledger.events.get(request_id)]
    assert events[-2:] == ["DeadlineApproaching", "Overdue"]
    queue = container.projections.office_queue_view.queue("430602", "health", overdue=True)
    assert [row.service_request_id for row in queue.rows] == [str(request_id)]


def test_a_supplement_restarts_the_office_clock(container: Container) -> None:
    outcome = container.ledger.notify_birth(
        NotifyBirth("m-s", make_facts("MR-S", child_name="王小明"), b"{}")
    )
    container.after_command()
    request_id = ServiceRequest.create_id(outcome.case_id, "birth-certificate")
    container.ledger.clock = lambda: at("2026-11-16")  # Monday
    office_step(container.ledger, request_id, "receive", "o", receipt_number="R-2")
    items = ("出生医学证明申请表",)
    office_step(container.ledger, request_id, "request-supplement", "o", items=items)
    container.ledger.clock = lambda: at("2026-11-19")  # Thursday: the family answers
    office_step(container.ledger, request_id, "supplement", "family", items=items)
    assert container.ledger.get_request(request_id).due == "2026-11-24"


def receive_on(container: Container, record_ref: str, day: str) -> str:
    """A new case whose birth-certificate request (3 working days) is received on `day`."""
    outcome = container.ledger.notify_birth(
        NotifyBirth(f"m-{record_ref}", make_facts(record_ref, child_name="王小明"), b"{}")
    )
    container.after_command()
    request_id = ServiceRequest.create_id(outcome.case_id, "birth-certificate")
    container.ledger.clock = lambda: at(day)
    office_step(container.ledger, request_id, "receive", "o", receipt_number=f"R-{record_ref}")
    container.after_command()
    return str(request_id)


def test_the_deadline_job_loads_only_requests_whose_warning_is_due_and_not_shown(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It reads the received requests in due order (pages of 2 here, by key), stops at the
    first not yet near its due date, and loads a request only when the office queue does not
    show its warning yet; one marked overdue is not read again."""
    monkeypatch.setattr("adapters.received_requests.PAGE", 2)
    late = receive_on(container, "MR-L", "2026-11-02")  # due Thursday 5 Nov
    near = receive_on(container, "MR-N", "2026-11-06")  # due Wednesday 11 Nov
    later = [receive_on(container, f"MR-F{n}", "2026-11-09") for n in range(3)]  # due 12 Nov
    loaded: list[str] = []
    watch = container.ledger.watch_deadline

    def counted(request_id: UUID) -> bool:
        loaded.append(str(request_id))
        return watch(request_id)

    monkeypatch.setattr(container.ledger, "watch_deadline", counted)
    container.ledger.clock = lambda: at("2026-11-10")  # Tuesday: one working day before 11th
    assert container.watch_deadlines() == 2  # late: Overdue; near: DeadlineApproaching
    assert sorted(loaded) == sorted([late, near])  # never the three due on the 12th
    loaded.clear()
    assert container.watch_deadlines() == 0
    assert loaded == []  # the queue shows both warnings now: nothing loaded again
    container.ledger.clock = lambda: at("2026-11-11")
    assert container.watch_deadlines() == 3  # the three due tomorrow; near is due today
    assert sorted(loaded) == sorted(later)
    loaded.clear()
    view, read = container.projections.office_queue_view, list[str]()
    select = view.select

    def reading(*args: Any, **kwargs: Any) -> Any:
        rows = select(*args, **kwargs)
        read.extend(r.service_request_id for r in rows)
        return rows

    monkeypatch.setattr(view, "select", reading)
    container.ledger.clock = lambda: at("2026-11-13")  # all five late: four Overdue to record
    assert container.watch_deadlines() == 4
    assert sorted(loaded) == sorted([near, *later])
    assert late not in read  # marked overdue at the first run: not read since
    overdue = container.projections.office_queue_view.queue("430602", "health", overdue=True)
    assert {r.service_request_id for r in overdue.rows} == {late, near, *later}


def test_after_a_supplement_a_late_request_is_late_again_only_past_its_new_due_date(
    container: Container,
) -> None:
    request_id = UUID(receive_on(container, "MR-O", "2026-11-02"))  # due Thursday 5 Nov
    container.ledger.clock = lambda: at("2026-11-09")
    assert container.watch_deadlines() == 1  # Overdue
    office = container.projections.office_queue_view

    def late() -> set[str]:
        return {r.service_request_id for r in office.queue("430602", "health", overdue=True).rows}

    def status_overdue() -> bool:
        view = container.projections.case_status_view
        found = view.get(SERVICES, str(request_id))
        assert found is not None
        return found.overdue

    assert late() == {str(request_id)}
    assert status_overdue()
    items = ("出生医学证明申请表",)
    office_step(container.ledger, request_id, "request-supplement", "o", items=items)
    office_step(container.ledger, request_id, "supplement", "family", items=items)
    container.after_command()
    assert container.ledger.get_request(request_id).due == "2026-11-12"  # 3 working days on
    assert late() == set()  # the office's clock started again
    assert not status_overdue()
    assert container.watch_deadlines() == 0
    container.ledger.clock = lambda: at("2026-11-13")
    assert container.watch_deadlines() == 1  # Overdue again, for the new due date
    assert late() == {str(request_id)}
    events = [type(e).__name__ for e in container.ledger.events.get(request_id)]
    assert events.count("Overdue") == 2


def test_a_request_that_changes_while_checked_does_not_stop_the_others(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process recording an event of a request between the job's read and its save:
    that request waits for the next run, the others are warned now."""
    first = receive_on(container, "MR-C1", "2026-11-02")
    second = receive_on(container, "MR-C2", "2026-11-03")
    watch = container.ledger.watch_deadline

    def conflicting(request_id: UUID) -> bool:
        if str(request_id) == first:
            raise RecordConflictError("recorded meanwhile by another process")
        return watch(request_id)

    monkeypatch.setattr(container.ledger, "watch_deadline", conflicting)
    container.ledger.clock = lambda: at("2026-11-09")
    assert container.watch_deadlines() == 1
    events = [type(e).__name__ for e in container.ledger.events.get(UUID(second))]
    assert events[-1] == "Overdue"
    monkeypatch.setattr(container.ledger, "watch_deadline", watch)
    assert container.watch_deadlines() == 1  # the next run warns the first
