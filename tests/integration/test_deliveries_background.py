"""The deliveries run as a background loop of their own: a worker (or an embedded `serve`)
sends while its tick is busy, and stopping lets the sends under way finish."""

from __future__ import annotations

import threading
import time

from adapters.bootstrap import Container
from adapters.deliveries import Deliveries
from tests.delivery_fakes import FakeFeed, FakeSystems
from tests.receiver import Receiver


def test_deliveries_flow_while_the_tick_is_held_up(memory_container: Container) -> None:
    container = memory_container
    feed, systems = FakeFeed(), FakeSystems()
    feed.add(5)
    held, release = threading.Event(), threading.Event()

    def slow_tick() -> None:
        held.set()
        release.wait(10)

    with Receiver() as receiver:
        systems.add(receiver.url)
        store = container.deliveries.store
        container.deliveries = Deliveries(container.settings, feed, systems, store)
        container.tick = slow_tick  # type: ignore[method-assign]
        background = container.background()
        background.start()
        try:
            assert held.wait(5)
            deadline = time.monotonic() + 10
            while len(receiver.ids()) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sorted(receiver.ids()) == sorted(m.message_id for m in feed.items)
        finally:
            release.set()
            background.stop()
    assert [loop.name for loop in background.loops] == ["deliveries"]
