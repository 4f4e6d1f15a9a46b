"""Back-pressure on hospital intake: refuse new messages while planning is too far behind."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from adapters.bootstrap import Container


def planning_lag(container: Container) -> int:
    """Ledger notifications from the first one the orchestrator has yet to plan to the head.

    The orchestrator tracks only the events it follows, so head minus its position alone never
    returns to 0; one row of its topics after the position tells whether anything is waiting.
    """
    ledger, orchestrator = container.ledger, container.orchestrator
    position = orchestrator.recorder.max_tracking_id(ledger.name) or 0
    waiting = ledger.recorder.select_notifications(
        start=position, limit=1, topics=orchestrator.topics, inclusive_of_start=False
    )
    if not waiting:
        return 0
    return (ledger.recorder.max_notification_id() or 0) - waiting[0].id + 1


class PlanningLag:
    """The planning lag, read from the store at most once per `ttl` seconds per process,
    so that checking it costs no query on the request path."""

    def __init__(
        self,
        read: Callable[[], int],
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read, self._ttl, self._clock = read, ttl, clock
        self._value, self._read_at = 0, float("-inf")

    async def value(self) -> int:
        now = self._clock()
        if now - self._read_at >= self._ttl:
            self._read_at = now  # concurrent requests keep the last value meanwhile
            self._value = await run_in_threadpool(self._read)
        return self._value
