"""The background work: the tick drains a backlog without pause, then polls once per interval."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from adapters.bootstrap import build
from adapters.scheduler import Background, Drain
from adapters.settings import Settings
from domain.commands import NotifyBirth
from tests.conftest import make_facts


class Backlog:
    """`work` takes one item per run and reports it; the runs' start times are recorded."""

    def __init__(self, items: int) -> None:
        self.items, self.starts = items, list[float]()
        self.idle = threading.Event()  # set at the first run that found nothing

    def work(self) -> int:
        self.starts.append(time.monotonic())
        if self.items == 0:
            self.idle.set()
            return 0
        self.items -= 1
        return 1


def test_a_backlog_is_drained_without_waiting_then_polled_once_per_interval() -> None:
    backlog = Backlog(items=50)
    drain = Drain(backlog.work, idle_s=0.3)
    started = time.monotonic()
    drain.start()
    assert backlog.idle.wait(5)
    drained = time.monotonic() - started
    time.sleep(0.45)  # one more poll after the idle wait, not a busy loop
    drain.stop()
    assert backlog.items == 0
    assert drained < 0.3  # 51 runs, none waiting for the interval
    assert len(backlog.starts) == 52
    assert 0.25 <= backlog.starts[-1] - backlog.starts[-2] < 0.45


def test_a_failing_run_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    runs = list[int]()
    again = threading.Event()

    def work() -> int:
        runs.append(1)
        if len(runs) == 1:
            raise OSError("store away")
        again.set()
        return 0

    drain = Drain(work, idle_s=0.05, name="tick")
    with caplog.at_level(logging.ERROR):
        drain.start()
        assert again.wait(5)
        drain.stop()
    assert "scheduled job tick failed" in caplog.text
    assert "store away" in caplog.text  # the exception's text (ids only in our errors)


def test_stop_waits_for_the_run_in_progress() -> None:
    inside, release = threading.Event(), threading.Event()
    finished = list[bool]()

    def work() -> int:
        inside.set()
        release.wait(5)
        finished.append(True)
        return 1

    drain = Drain(work, idle_s=1.0)
    drain.start()
    assert inside.wait(5)
    threading.Timer(0.1, release.set).start()
    drain.stop()
    assert finished == [True]  # the run finished before stop returned; no run after it


def test_stop_soon_ends_wait_and_stop_may_come_before_start() -> None:
    never = Background((lambda: 0, 1.0), {})
    never.stop()  # never started: nothing to stop
    background = Background((lambda: 0, 0.05), {"noop": (lambda: None, 60.0)})
    background.start()
    threading.Timer(0.1, background.stop_soon).start()
    background.wait()
    background.stop()
    assert not background.scheduler.running


def test_the_containers_background_plans_a_notified_case() -> None:
    container = build(Settings(persistence="memory", embedded_worker=False))
    try:
        outcome = container.ledger.notify_birth(NotifyBirth("m-bg", make_facts("MR-BG"), b"{}"))
        background = container.background()
        background.start()
        deadline = time.monotonic() + 10
        while not container.ledger.get_case(outcome.case_id).planned_services:
            assert time.monotonic() < deadline, "the background work did not plan the case"
            time.sleep(0.02)
        background.stop()
        status = container.projections.case_status_view.by_case_id(outcome.case_id)
        assert status is not None
        assert status.state == "in-progress"
    finally:
        container.close()
