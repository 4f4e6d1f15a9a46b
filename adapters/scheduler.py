"""The deployment's background work: the tick as a drain loop, other jobs on APScheduler 3."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

Jobs = dict[str, tuple[Callable[[], object], float]]  # name → (function, interval in seconds)


def _guarded(job: Callable[[], object], name: str) -> Callable[[], object]:
    """A failing job logs (ids only) and runs again at its next interval, never dies."""

    def run() -> object:
        try:
            return job()
        except Exception:  # the store may be briefly away; the next run catches up
            log.exception("scheduled job %s failed", name)
            return None

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


class Drain:
    """Runs `work` on a thread of its own: again at once while it reports work done (a
    number > 0), else after `idle_s`. A backlog is worked off without pause and each run
    takes what arrived during the one before (so runs batch more as load grows), while an
    idle store is polled once per `idle_s`. (As an APScheduler interval job, a run longer
    than the interval made the scheduler skip the next start and leave the worker idle
    until the one after: under load, up to half of each second, with a warning each time.)"""

    def __init__(self, work: Callable[[], int], idle_s: float, name: str = "tick") -> None:
        self.work, self.idle_s, self.name = _guarded(work, name), idle_s, name
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
            done = self.work()
            if not (isinstance(done, int) and done > 0):
                self._stop.wait(self.idle_s)


class Background:
    """A process's background work: `drain` as a `Drain` loop, `jobs` on APScheduler."""

    def __init__(self, drain: tuple[Callable[[], int], float], jobs: Jobs) -> None:
        self.drain = Drain(*drain)
        self.scheduler = make_scheduler(jobs)
        self._stopped = threading.Event()

    def start(self) -> None:
        self.scheduler.start()
        self.drain.start()

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
        self.drain.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
