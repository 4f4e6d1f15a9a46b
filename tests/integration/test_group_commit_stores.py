"""Group commit on the real stores (SQLite file and PostgreSQL): saves from many threads are
each recorded whole, contiguous and in order; a conflicting save fails alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent

from adapters.bootstrap import Container
from engine.group_commit import GroupCommitMixin

THREADS = 8
SAVES = 15
WAIT_S = 10.0


class Counter(Aggregate):
    """A stand-in aggregate: the recorder does not care what it stores."""

    def bump(self) -> None:
        self.trigger_event(Aggregate.Event)


def new_counter(bumps: int) -> Counter:
    counter = Counter()
    for _ in range(bumps):
        counter.bump()
    return counter


def recorded_order(app: Application[Any]) -> dict[int, tuple[object, int]]:
    notifications = app.recorder.select_notifications(start=None, limit=10_000)
    return {n.id: (n.originator_id, n.originator_version) for n in notifications}


def run_threads(target: Callable[[int], None], count: int) -> None:
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()


def test_concurrent_saves_are_each_recorded_whole_contiguous_and_in_order(
    container: Container,
) -> None:
    ledger = container.ledger
    assert isinstance(ledger.recorder, GroupCommitMixin)
    saved: list[tuple[list[tuple[object, int]], list[int]]] = []
    lock = threading.Lock()

    def save(n: int) -> None:
        for i in range(SAVES):
            counter = new_counter(bumps=(n + i) % 3)
            recordings = ledger.save(counter)
            with lock:
                saved.append(
                    (
                        [
                            (r.domain_event.originator_id, r.domain_event.originator_version)
                            for r in recordings
                        ],
                        [r.notification.id for r in recordings],
                    )
                )

    run_threads(save, THREADS)
    order = recorded_order(ledger)
    assert len(saved) == THREADS * SAVES
    assert len(order) == sum(len(events) for events, _ in saved)
    for events, ids in saved:
        assert ids == list(range(ids[0], ids[0] + len(ids)))  # contiguous
        assert [order[i] for i in ids] == events  # its own events, in its own order


def test_of_concurrent_saves_of_one_version_exactly_one_is_recorded(container: Container) -> None:
    ledger = container.ledger
    counter = new_counter(bumps=0)
    ledger.save(counter)
    copies: list[Counter] = [ledger.repository.get(counter.id) for _ in range(THREADS)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def save(n: int) -> None:
        stale = copies[n]
        stale.bump()  # every thread writes version 2
        others = new_counter(bumps=1)
        try:
            ledger.save(stale)
            outcome = "recorded"
        except IntegrityError:
            outcome = "refused"
        ledger.save(others)  # unrelated saves around the conflict are all recorded
        with lock:
            outcomes.append(outcome)

    run_threads(save, THREADS)
    assert sorted(outcomes) == ["recorded"] + ["refused"] * (THREADS - 1)
    assert len(ledger.recorder.select_events(counter.id)) == 2
    assert len(recorded_order(ledger)) == 2 + THREADS * 2


def test_a_group_behind_a_held_leader_is_one_insert_with_each_saves_own_ids(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = container.ledger.recorder
    assert isinstance(recorder, GroupCommitMixin)
    gate = threading.Event()
    inserts: list[int] = []
    insert_alone = recorder._insert_alone

    def held(stored: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        gate.wait(WAIT_S)
        inserts.append(len(stored))
        return insert_alone(stored, **kwargs)

    monkeypatch.setattr(recorder, "_insert_alone", held)
    counters = [new_counter(bumps=n) for n in range(5)]
    ids: dict[int, list[int]] = {}

    def save(n: int) -> None:
        ids[n] = [r.notification.id for r in container.ledger.save(counters[n])]

    leader = threading.Thread(target=save, args=(0,))
    leader.start()
    deadline = time.monotonic() + WAIT_S
    while not recorder._leading:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    followers = [threading.Thread(target=save, args=(n,)) for n in range(1, 5)]
    for thread in followers:
        thread.start()
    while len(recorder._queued) < 4:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    gate.set()
    for thread in [leader, *followers]:
        thread.join(WAIT_S)
    assert inserts == [1, 2 + 3 + 4 + 5]
    order = recorded_order(container.ledger)
    for n, counter in enumerate(counters):
        assert [order[i] for i in ids[n]] == [(counter.id, v) for v in range(1, n + 2)]
