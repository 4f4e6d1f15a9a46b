"""The dispatcher against a real HTTP receiver on 127.0.0.1: signatures and rotation, the
outcomes (delivered, retried, dead), the circuit through an outage, the in-flight bounds,
several workers on one store, and a killed worker's deliveries."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from adapters.delivery_stores import SQLiteDeliveryStore
from integrations.registry import dispatcher as dispatcher_module
from integrations.registry.dispatcher import Dispatcher
from integrations.registry.memory import InMemoryDeliveryStore
from integrations.registry.policy import DeliveryPolicy
from integrations.registry.sender import HttpSender
from integrations.registry.store import DEAD, DELIVERED, OPEN, PENDING, PROBING, Claim
from tests.delivery_fakes import FakeClock, FakeFeed, FakeMessage, FakeSystems, new_secret
from tests.receiver import Receiver

FAST = DeliveryPolicy(timeout_s=2.0, lease_s=10.0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def dispatcher(
    feed: FakeFeed,
    systems: FakeSystems,
    policy: DeliveryPolicy = FAST,
    clock: FakeClock | None = None,
    store: InMemoryDeliveryStore | SQLiteDeliveryStore | None = None,
) -> Dispatcher[FakeMessage]:
    return Dispatcher(
        feed,
        systems,
        store or InMemoryDeliveryStore(),
        HttpSender(policy.timeout_s, policy.threads),
        policy,
        clock=clock or FakeClock(),
        random=random.Random(7).random,
    )


def rounds(sender: Dispatcher[FakeMessage], clock: FakeClock, seconds: int) -> None:
    """One round a (fake) second, each waited for."""
    for _ in range(seconds):
        sender.run_once()
        sender.drain(10)
        clock.advance(1)


def test_a_delivery_is_signed_with_every_valid_secret(receiver: Receiver) -> None:
    feed, systems = FakeFeed(), FakeSystems()
    (message,) = feed.add(1)
    current, rotated_out = new_secret(), new_secret()
    systems.add(receiver.url, current, rotated_out)
    sender = dispatcher(feed, systems, clock=FakeClock())
    sender.run_once()
    sender.drain(10)
    sender.close()
    (got,) = receiver.received
    headers = {
        "webhook-id": got.message_id,
        "webhook-timestamp": got.timestamp,
        "webhook-signature": " ".join(got.signatures),
    }
    for secret in (current, rotated_out):  # either verifies: a receiver mid-rotation
        assert Webhook(secret).verify(got.body, headers)["id"] == message.message_id
    assert got.body == message.body
    assert got.message_id == message.message_id
    assert len(got.signatures) == 2
    assert all(s.startswith("v1,") for s in got.signatures)
    assert got.content_type.startswith("application/cloudevents+json")
    assert sender.store.counts() == {DELIVERED: 1}


def test_a_wrong_secret_is_refused_and_retried_then_dead(receiver: Receiver) -> None:
    receiver.secret = new_secret()
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    feed.add(1)
    systems.add(receiver.url, new_secret())
    policy = DeliveryPolicy(timeout_s=2.0, lease_s=10.0, max_attempts=3, max_delay_s=4.0)
    sender = dispatcher(feed, systems, policy, clock)
    rounds(sender, clock, 30)
    sender.close()
    (row,) = sender.store.deliveries()
    assert (row.state, row.attempts, row.last_status) == (DEAD, 3, 401)
    assert receiver.requests == 3
    assert receiver.received == []


def test_gone_is_a_dead_letter_at_once(receiver: Receiver) -> None:
    receiver.status = 410
    feed, systems = FakeFeed(), FakeSystems()
    feed.add(2)
    system = systems.add(receiver.url)
    sender = dispatcher(feed, systems)
    sender.run_once()
    sender.drain(10)
    sender.close()
    assert sender.store.counts() == {DEAD: 2}
    assert sender.store.endpoint(system.system_id).failures == 0  # the endpoint answered


def test_a_two_minute_outage_pauses_the_endpoint_and_loses_nothing(receiver: Receiver) -> None:
    """Default policy on a fake clock: the receiver is down for 120 s, then back."""
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    messages = feed.add(20)
    system = systems.add(receiver.url)
    policy = DeliveryPolicy()
    sender = dispatcher(feed, systems, policy, clock)
    receiver.status = 503
    rounds(sender, clock, 120)
    during = receiver.requests
    assert sender.store.endpoint(system.system_id).circuit in (OPEN, PROBING)
    # opened after 5 failures (with those already in flight), then one probe per pause
    most = policy.circuit_failures + policy.in_flight + 120 // policy.circuit_pause_s + 1
    assert during <= most, f"the endpoint was hammered: {during} requests in 2 minutes"
    receiver.status = 204
    for _ in range(600):
        rounds(sender, clock, 1)
        if sender.store.counts() == {DELIVERED: 20}:
            break
    sender.close()
    assert sender.store.counts() == {DELIVERED: 20}
    assert sorted(receiver.ids()) == sorted(m.message_id for m in messages)  # each once
    assert sender.store.endpoint(system.system_id).circuit == "closed"
    assert sender.store.dead_by_system() == {}


def test_deliveries_in_flight_are_bounded_per_endpoint_and_in_all(receiver: Receiver) -> None:
    receiver.delay_s = 0.2
    feed, systems = FakeFeed(), FakeSystems()
    feed.add(12)
    systems.add(receiver.url)
    policy = DeliveryPolicy(timeout_s=2.0, lease_s=10.0, in_flight=3)
    sender = dispatcher(feed, systems, policy)
    started = time.monotonic()
    sender.run_once()
    assert time.monotonic() - started < 0.15  # the round does not wait for a send
    sender.drain(20)
    assert receiver.most_in_flight == 3
    assert sender.store.counts() == {DELIVERED: 12}
    with Receiver(delay_s=0.2) as other:  # two endpoints, two threads in all
        feed.add(4, office=("430602", "cdc"))
        systems.add(other.url, office=("430602", "cdc"))
        few = dispatcher(feed, systems, DeliveryPolicy(timeout_s=2.0, lease_s=10.0, threads=2))
        few.run_once()
        few.drain(20)
        few.close()
        assert receiver.most_in_flight + other.most_in_flight <= 5
        assert other.most_in_flight <= 2
        assert len(other.received) == 4
    sender.close()


def test_a_thread_that_has_sent_its_chain_leaves_no_delivery_leased(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After CHAIN sends a thread rests, claiming nothing more: a delivery it claimed and did
    not send would hold one of its endpoint's in-flight places until its lease ended."""
    monkeypatch.setattr(dispatcher_module, "CHAIN", 3)
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    feed.add(7)
    systems.add(receiver.url)
    policy = DeliveryPolicy(timeout_s=2.0, lease_s=10.0, threads=1, in_flight=1)
    sender = dispatcher(feed, systems, policy, clock)
    sender.run_once()
    sender.drain(10)
    assert len(receiver.ids()) == 3
    assert [r.lease_owner for r in sender.store.deliveries(state=PENDING)] == [None] * 4
    rounds(sender, clock, 2)  # the next rounds go on at once, not after the lease
    sender.close()
    assert sender.store.counts() == {DELIVERED: 7}


@pytest.mark.parametrize("on", ["memory", "sqlite"])
def test_a_thread_whose_endpoint_is_done_moves_on_to_one_left_waiting(
    receiver: Receiver, tmp_path: Path, on: str
) -> None:
    """A backlog: the round has 2 threads for 4 endpoints. A thread that has sent its
    endpoint's last due delivery goes on with an endpoint the round left waiting, rather
    than resting until the next round; the bounds hold (1 in flight an endpoint, 2 in all)."""
    receiver.delay_s = 0.02
    feed, systems = FakeFeed(), FakeSystems()
    offices = [("420102", "public-security"), ("430602", "cdc"), ("440106", "hrss"),
               ("510104", "health")]  # fmt: skip
    for office in offices:
        feed.add(3, office=office)
        systems.add(receiver.url, office=office)
    policy = DeliveryPolicy(timeout_s=2.0, lease_s=10.0, threads=2, in_flight=1)
    store = SQLiteDeliveryStore(str(tmp_path / "d.sqlite")) if on == "sqlite" else None
    sender = dispatcher(feed, systems, policy, store=store)
    sender.run_once()  # one round only
    sender.drain(20)
    sender.close()
    assert sorted(receiver.ids()) == sorted(m.message_id for m in feed.items)
    assert sender.store.counts() == {DELIVERED: 12}
    assert receiver.most_in_flight <= 2


def test_two_workers_on_one_store_send_each_delivery_once(
    receiver: Receiver, tmp_path: Path
) -> None:
    feed, systems = FakeFeed(), FakeSystems()
    feed.add(40)
    systems.add(receiver.url)
    path = str(tmp_path / "deliveries.sqlite")
    workers = [dispatcher(feed, systems, store=SQLiteDeliveryStore(path)) for _ in range(2)]
    for _ in range(20):
        for worker in workers:
            worker.run_once()
        if len(receiver.ids()) == 40:
            break
        time.sleep(0.05)
    for worker in workers:
        worker.drain(10)
        worker.close()
    assert len(receiver.ids()) == len(set(receiver.ids())) == 40
    assert workers[0].store.counts() == {DELIVERED: 40}


def test_a_killed_workers_deliveries_are_sent_after_their_lease(receiver: Receiver) -> None:
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    feed.add(3)
    system = systems.add(receiver.url)
    store = InMemoryDeliveryStore()
    sender = dispatcher(feed, systems, FAST, clock, store)
    sender.enqueue(systems.items)
    now = clock().timestamp()
    killed = store.claim(system.system_id, Claim("killed", now, now + FAST.lease_s, 4, 10))
    assert len(killed) == 3  # leased by a worker that died before sending
    rounds(sender, clock, 5)
    assert receiver.ids() == []
    assert store.counts() == {PENDING: 3}
    rounds(sender, clock, 10)
    sender.close()
    assert sorted(receiver.ids()) == sorted(m.message_id for m in feed.items)
