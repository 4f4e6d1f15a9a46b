"""An endpoint away for hours (review of issue 18): while its circuit is open only the probe
is sent, it spends no delivery's attempt, and the probes space out up to CIRCUIT_MAX_PAUSE,
so a quiet office's deliveries all arrive once it is back and none is a dead letter."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping

from integrations.registry.dispatcher import Dispatcher
from integrations.registry.memory import InMemoryDeliveryStore
from integrations.registry.policy import DeliveryPolicy
from integrations.registry.sender import Answer
from integrations.registry.store import CLOSED, DELIVERED
from tests.delivery_fakes import FakeClock, FakeFeed, FakeSystems

HOURS = 6
STEP_S = 5  # a round every 5 (fake) seconds: the pauses are 30 s and more


class Outage:
    """An endpoint that answers nothing while `up` is False; when it was asked."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.up, self.asked = clock, False, list[float]()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        self.asked.append(self.clock().timestamp())
        return Answer(204) if self.up else Answer(None, "ConnectError")

    def close(self) -> None:
        pass


def test_an_outage_of_hours_costs_the_waiting_deliveries_nothing() -> None:
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    messages = feed.add(20)
    system = systems.add("http://hukou.example/hooks")
    endpoint, store, policy = Outage(clock), InMemoryDeliveryStore(), DeliveryPolicy()
    sender = Dispatcher(
        feed, systems, store, endpoint, policy, clock=clock, random=random.Random(3).random
    )
    start = clock().timestamp()
    for _ in range(HOURS * 3600 // STEP_S):
        sender.run_once()
        sender.drain(5)
        clock.advance(STEP_S)
    assert store.counts() == {"pending": 20}  # nothing dead
    assert max(r.attempts for r in store.deliveries()) <= 2  # spent before the circuit opened
    probes = [t - start for t in endpoint.asked]
    gaps = [b - a for a, b in itertools.pairwise(probes)]
    assert len(probes) < 50, f"{len(probes)} requests in {HOURS} h"
    assert max(gaps) >= policy.circuit_max_pause_s  # spaced out to the cap
    assert max(gaps) <= policy.circuit_max_pause_s + 2 * STEP_S  # and no further

    endpoint.up = True
    back = clock().timestamp()
    while store.counts() != {DELIVERED: 20} and clock().timestamp() - back < 1200:
        sender.run_once()
        sender.drain(5)
        clock.advance(STEP_S)
    sender.close()
    assert store.counts() == {DELIVERED: 20}
    assert clock().timestamp() - back <= policy.circuit_max_pause_s + 60  # the next probe
    assert store.endpoint(system.system_id).circuit == CLOSED
    assert {r.message_id for r in store.deliveries()} == {m.message_id for m in messages}
