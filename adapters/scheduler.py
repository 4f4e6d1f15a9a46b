"""The deployment's background work: the tick, and each loop (the deliveries), on a thread of
its own, so none waits for another; other jobs on APScheduler."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

Jobs = dict[str, tuple[Callable[[], object], float]]  # name → (function, interval in seconds)


def _guarded(job: Callable[[], object], name: str) -> Callable[[], None]:
    """A failing job logs (ids only) and runs again at its next interval, never dies."""

    def run() -> None:
        try:
            job()
        except Exception:  # the store may be briefly away; the next run catches up
            log.exception("scheduled job %s failed", name)

    return run


def make_scheduler(jobs: Jobs) -> BackgroundScheduler:
    """One APScheduler job per entry, never overlapping itself."""
    scheduler = BackgroundScheduler()
    for name, (job, seconds) in jobs.items():
        scheduler.add_job(
            _guarded(job, name),
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
        )
    return scheduler


class Ticker:
    """Runs `work` on a thread of its own: a run starts every `interval_s`, or at once when
    the one before took longer. Each run takes what arrived since the one before, so a busy
    store is worked in batches of about `interval_s` of arrivals (bigger sections and pages
    cost less CPU per message than running again at once) and a backlog without pause. (As an
    APScheduler interval job, a run longer than the interval made the scheduler skip the
    next start, with a warning, and the worker sat idle until the one after.)"""

    def __init__(self, work: Callable[[], object], interval_s: float, name: str = "tick") -> None:
        self.work, self.interval_s, self.name = _guarded(work, name), interval_s, name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask it to stop and wait for the run in progress to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.work()
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))


class Background:
    """A process's background work: `tick` and each of `loops` on a `Ticker` of its own,
    `jobs` on APScheduler."""

    def __init__(
        self, tick: tuple[Callable[[], object], float], jobs: Jobs, loops: Jobs | None = None
    ) -> None:
        self.ticker = Ticker(*tick)
        self.loops = [Ticker(work, s, name) for name, (work, s) in (loops or {}).items()]
        self.scheduler = make_scheduler(jobs)
        self._stopped = threading.Event()

    def start(self) -> None:
        self.scheduler.start()
        self.ticker.start()
        for loop in self.loops:
            loop.start()

    def wait(self) -> None:
        """Block until `stop_soon` or `stop` (the worker command's main thread waits here;
        short waits so that a signal handler runs promptly)."""
        while not self._stopped.wait(0.5):
            pass

    def stop_soon(self) -> None:
        """Safe in a signal handler: makes `wait` return; the caller then calls `stop`."""
        self._stopped.set()

    def stop(self) -> None:
        """Stop both, letting a run in progress finish (before the stores close)."""
        self._stopped.set()
        for loop in self.loops:
            loop.stop()
        self.ticker.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
