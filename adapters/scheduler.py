"""The one scheduler per deployment: APScheduler 3 jobs that keep processing moving."""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)


def _guarded(job: Callable[[], object], name: str) -> Callable[[], None]:
    """A failing job logs (ids only) and runs again at its next interval, never dies."""

    def run() -> None:
        try:
            job()
        except Exception:  # the store may be briefly away; the next run catches up
            log.exception("scheduled job %s failed", name)

    return run


def make_scheduler(
    jobs: dict[str, tuple[Callable[[], object], float]], *, blocking: bool = False
) -> BaseScheduler:
    """One job per entry (name → (function, interval in seconds)), never overlapping itself."""
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler()
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
