"""The planning lag is read at most once per interval, so checking it costs no query."""

from __future__ import annotations

import anyio

from api.backpressure import PlanningLag


def test_the_lag_is_read_once_per_interval() -> None:
    reads, now = [], [100.0]

    def read() -> int:
        reads.append(now[0])
        return len(reads) * 10

    lag = PlanningLag(read, ttl=1.0, clock=lambda: now[0])

    async def values() -> list[int]:
        seen = [await lag.value(), await lag.value()]
        now[0] += 0.5
        seen.append(await lag.value())
        now[0] += 0.6
        seen.append(await lag.value())
        return seen

    assert anyio.run(values) == [10, 10, 10, 20]
    assert reads == [100.0, 101.1]
