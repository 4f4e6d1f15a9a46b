"""The background work: a tick every interval, at once after one that took longer."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from adapters.bootstrap import build
from adapters.scheduler import Background, Ticker
from adapters.settings import Settings
from domain.births.commands import NotifyBirth
from tests.conftest import make_facts


class Runs:
    """`work` records when each run starts and takes `takes_s`; `enough` is set after `n` runs."""

    def __init__(self, takes_s: float, n: int) -> None:
        self.takes_s, self.n, self.starts = takes_s, n, list[float]()
        self.enough = threading.Event()

    def work(self) -> None:
        self.starts.append(time.monotonic())
        time.sleep(self.takes_s)
        if len(self.starts) >= self.n:
            self.enough.set()

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.starts, self.starts[1:], strict=False)]


@pytest.mark.parametrize(
    ("takes_s", "interval_s", "gap_s"),
    [
        (0.01, 0.15, 0.15),  # quick runs start one interval apart
        (0.25, 0.2, 0.25),  # a longer run is followed at once, not at the next multiple of
        # the interval, 0.4 s (APScheduler's interval job skipped the start at 0.2 s)
    ],
)
def test_runs_start_an_interval_apart_or_at_once_after_a_longer_one(
    takes_s: float, interval_s: float, gap_s: float
) -> None:
    runs = Runs(takes_s, n=4)
    ticker = Ticker(runs.work, interval_s)
    ticker.start()
    assert runs.enough.wait(5)
    ticker.stop()
    assert all(gap_s - 0.02 <= gap < gap_s + 0.1 for gap in runs.gaps()[:3]), runs.gaps()


def test_a_failing_run_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    runs = list[int]()
    again = threading.Event()

    def work() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise OSError("store away")
        again.set()

    ticker = Ticker(work, interval_s=0.05, name="tick")
    with caplog.at_level(logging.ERROR):
        ticker.start()
        assert again.wait(5)
        ticker.stop()
    assert "scheduled job tick failed" in caplog.text
    assert "store away" in caplog.text  # the exception's text (ids only in our errors)


def test_stop_waits_for_the_run_in_progress() -> None:
    inside, release = threading.Event(), threading.Event()
    finished = list[bool]()

    def work() -> None:
        inside.set()
        release.wait(5)
        finished.append(True)

    ticker = Ticker(work, interval_s=0.0)
    ticker.start()
    assert inside.wait(5)
    threading.Timer(0.1, release.set).start()
    ticker.stop()
    assert finished == [True]  # the run finished before stop returned; no run after it


def test_stop_soon_ends_wait_and_stop_may_come_before_start() -> None:
    never = Background((lambda: None, 1.0), {})
    never.stop()  # never started: nothing to stop
    background = Background((lambda: None, 0.05), {"noop": (lambda: None, 60.0)})
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
