"""Back-pressure on hospital intake: refuse new messages while planning is too far behind."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool


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
