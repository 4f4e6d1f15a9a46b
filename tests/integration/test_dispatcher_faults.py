"""The dispatcher when something other than the endpoint goes wrong (review of issue 18): an
exception in an attempt, a message not in the feed (a rebuild), a system disabled or its
secret rotated while a thread sends its deliveries back to back."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import replace

from standardwebhooks import Webhook

from integrations.registry.dispatcher import NOT_YET_S, Dispatcher
from integrations.registry.memory import InMemoryDeliveryStore
from integrations.registry.policy import DeliveryPolicy
from integrations.registry.sender import Answer
from integrations.registry.store import CLOSED, DEAD, DELIVERED, PENDING
from tests.delivery_fakes import FakeClock, FakeFeed, FakeMessage, FakeSystems, new_secret

ONE_AT_A_TIME = DeliveryPolicy(in_flight=1, threads=1, max_attempts=3, max_delay_s=4.0)


class Endpoint:
    """Answers 204 and records each request's headers; `then` runs after each."""

    def __init__(self, then: Callable[[int], None] = lambda n: None) -> None:
        self.headers: list[Mapping[str, str]] = []
        self.bodies: list[bytes] = []
        self.then = then

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        self.headers.append(headers)
        self.bodies.append(body)
        self.then(len(self.headers))
        return Answer(204)

    def close(self) -> None:
        pass


class Raises:
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        float("\xb2")  # what a malformed Retry-After did in the sender
        raise AssertionError("unreachable")

    def close(self) -> None:
        pass


def dispatcher(
    feed: FakeFeed, systems: FakeSystems, sender: object, clock: FakeClock
) -> Dispatcher[FakeMessage]:
    return Dispatcher(
        feed,
        systems,
        InMemoryDeliveryStore(),
        sender,  # type: ignore[arg-type]
        ONE_AT_A_TIME,
        clock=clock,
        random=random.Random(5).random,
    )


def rounds(sender: Dispatcher[FakeMessage], clock: FakeClock, seconds: int) -> None:
    for _ in range(seconds):
        sender.run_once()
        sender.drain(5)
        clock.advance(1)


def test_an_exception_in_an_attempt_is_a_recorded_failure() -> None:
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    feed.add(1)
    systems.add("http://hukou.example/hooks")
    sender = dispatcher(feed, systems, Raises(), clock)
    sender.run_once()
    sender.drain(5)
    (row,) = sender.store.deliveries()
    assert (row.state, row.attempts, row.last_status, row.last_error) == (
        PENDING,
        1,
        None,
        "ValueError",
    )
    assert row.lease_owner is None
    rounds(sender, clock, 30)
    sender.close()
    (row,) = sender.store.deliveries()
    assert (row.state, row.attempts) == (DEAD, 3)  # not re-sent forever


def test_a_message_not_in_the_feed_yet_waits_without_spending_anything() -> None:
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    messages = feed.add(3)
    system = systems.add("http://hukou.example/hooks")
    endpoint = Endpoint()
    sender = dispatcher(feed, systems, endpoint, clock)
    sender.enqueue(systems.items)
    feed.items = []  # office_feed is being rebuilt
    rounds(sender, clock, 60)
    assert endpoint.headers == []
    assert all(
        (r.state, r.attempts, r.lease_owner) == (PENDING, 0, None)
        for r in sender.store.deliveries()
    )
    state = sender.store.endpoint(system.system_id)
    assert (state.circuit, state.failures) == (CLOSED, 0)
    feed.items = messages  # rebuilt
    rounds(sender, clock, int(NOT_YET_S) + 2)
    sender.close()
    assert sender.store.counts() == {DELIVERED: 3}
    assert all(r.attempts == 1 for r in sender.store.deliveries())


def test_a_chain_stops_once_its_system_is_disabled() -> None:
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    feed.add(5)
    systems.add("http://hukou.example/hooks")

    def disable(sent: int) -> None:
        if sent == 2:
            systems.items[0] = replace(systems.items[0], disabled=True)

    endpoint = Endpoint(disable)
    sender = dispatcher(feed, systems, endpoint, clock)
    rounds(sender, clock, 10)
    sender.close()
    assert len(endpoint.headers) == 2  # the one under way finished; no other was sent
    assert sender.store.counts() == {DELIVERED: 2, PENDING: 3}


def test_a_chain_signs_with_the_secret_as_rotated_meanwhile() -> None:
    feed, systems, clock = FakeFeed(), FakeSystems(), FakeClock()
    feed.add(3)
    old, new = new_secret(), new_secret()
    systems.add("http://hukou.example/hooks", old)

    def rotate(sent: int) -> None:
        if sent == 1:
            systems.items[0] = replace(systems.items[0], secrets=(new,))

    endpoint = Endpoint(rotate)
    sender = dispatcher(feed, systems, endpoint, clock)
    sender.run_once()  # one claim (IN_FLIGHT 1): the thread sends the other two after it
    sender.drain(5)
    sender.close()
    assert len(endpoint.headers) == 3
    first, *chained = zip(endpoint.headers, endpoint.bodies, strict=True)
    assert Webhook(old).verify(first[1], dict(first[0]))
    for headers, body in chained:
        assert Webhook(new).verify(body, dict(headers))
        assert len(headers["webhook-signature"].split()) == 1  # the old one no longer signs
