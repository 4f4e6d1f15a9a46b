"""Time limits in working days across National Day 2026, and the deadline job, on both stores."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from adapters.bootstrap import Container
from domain.commands import NotifyBirth, OfficeDecision
from domain.service_request import ServiceRequest
from tests.conftest import make_facts

CST = timezone(timedelta(hours=8))


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00+08:00")


def test_due_date_skips_the_holiday_and_counts_the_swapped_saturday(container: Container) -> None:
    outcome = container.ledger.notify_birth(
        NotifyBirth("m-d", make_facts(child_name="王小明"), b"{}")
    )
    container.after_command()
    request_id = ServiceRequest.create_id(outcome.case_id, "birth-certificate")
    container.ledger.clock = lambda: at("2026-09-30")  # Wednesday before National Day
    container.ledger.decide(OfficeDecision(request_id, "receive", "officer", receipt_number="R-1"))
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
    container.ledger.decide(OfficeDecision(request_id, "receive", "o", receipt_number="R-2"))
    container.ledger.decide(
        OfficeDecision(request_id, "request-supplement", "o", items=("出生医学证明申请表",))
    )
    container.ledger.clock = lambda: at("2026-11-19")  # Thursday: the family answers
    container.ledger.decide(
        OfficeDecision(request_id, "supplement", "family", items=("出生医学证明申请表",))
    )
    assert container.ledger.get_request(request_id).due == "2026-11-24"
