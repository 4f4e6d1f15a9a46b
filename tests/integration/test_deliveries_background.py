"""The deliveries run as a background loop of their own: a worker (or an embedded `serve`)
sends while its tick is busy, and stopping lets the sends under way finish; what /metrics and
the queue show of them (enabled systems only), discarding a disabled system's, the purge."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from adapters.bootstrap import Container
from adapters.deliveries import Deliveries, SystemNotDisabledError
from adapters.settings import Settings
from integrations.registry.memory import InMemoryDeliveryStore
from integrations.registry.policy import DeliveryPolicy
from integrations.registry.store import CANCELLED, DEAD, PENDING, Claim, Failure
from tests.delivery_fakes import OFFICE, FakeClock, FakeFeed, FakeSystems
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


def test_a_disabled_systems_deliveries_leave_the_figures_and_can_be_discarded() -> None:
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    feed.add(2)
    kept, dropped = systems.add("http://kept.example/"), systems.add("http://dropped.example/")
    store = InMemoryDeliveryStore()
    deliveries = Deliveries(Settings(persistence="memory"), feed, systems, store, clock)
    deliveries.dispatcher.enqueue(systems.items)
    now = clock().timestamp()
    for delivery in store.claim(dropped.system_id, Claim("w", now, now + 60, 4, 10)):
        gone = Failure(
            410, "HTTP 410", now, dead=True, counts=False, failures_to_open=5, pause_s=30
        )
        store.failed(delivery.delivery_id, "w", now, gone)
    assert deliveries.figures() == {"states": {PENDING: 2, DEAD: 2}, "open_circuits": 0}
    assert [w["system_id"] for w in deliveries.warnings(*OFFICE)] == [str(dropped.system_id)]
    with pytest.raises(SystemNotDisabledError):
        deliveries.discard(dropped)

    systems.items[1] = dropped = replace(dropped, disabled=True)
    assert deliveries.figures() == {"states": {PENDING: 2, DEAD: 0}, "open_circuits": 0}
    assert deliveries.warnings(*OFFICE) == []
    assert deliveries.discard(dropped) == 2
    assert store.counts() == {PENDING: 2, CANCELLED: 2}
    assert deliveries.listing(dead=True) == []
    assert store.waiting() == {kept.system_id: {PENDING: 2}}


def test_delivered_rows_past_keep_days_are_purged_now_and_then() -> None:
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    feed.add(3)
    systems.add("http://kept.example/")
    store = InMemoryDeliveryStore()
    settings = Settings(persistence="memory", deliveries=DeliveryPolicy(keep_days=30))
    deliveries = Deliveries(settings, feed, systems, store, clock)
    deliveries.dispatcher.enqueue(systems.items)
    now = clock().timestamp()
    (old, recent, _) = store.claim(systems.items[0].system_id, Claim("w", now, now + 60, 4, 10))
    store.delivered(old.delivery_id, now - 31 * 86400, 200)
    store.delivered(recent.delivery_id, now - 29 * 86400, 200)
    assert deliveries.purge() == 1
    assert len(store.deliveries()) == 2
    assert store.get(old.delivery_id) is None
    assert store.get(recent.delivery_id) is not None
    assert deliveries._purge_at > time.monotonic() + 3000  # the next look in an hour
    deliveries.close()
