"""The delivery store's contract, alike in memory, on SQLite and on PostgreSQL: enqueue after
a cursor, leases (a killed worker's expire), the in-flight bound, the circuit, dead letters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from adapters import pool
from adapters.delivery_stores import PostgresDeliveryStore, SQLiteDeliveryStore
from integrations.registry.memory import InMemoryDeliveryStore
from integrations.registry.store import (
    CLOSED,
    DEAD,
    DELIVERED,
    OPEN,
    PENDING,
    PROBING,
    Claim,
    DeliveryStore,
    Failure,
    NewDelivery,
    delivery_id,
)

SYSTEM = UUID("00000000-0000-4000-8000-000000000001")
T0 = 1_800_000_000.0


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeliveryStore]:
    if request.param == "memory":
        yield InMemoryDeliveryStore()
    elif request.param == "sqlite":
        made = SQLiteDeliveryStore(str(tmp_path / "deliveries.sqlite"))
        yield made
        made.close()
    else:
        from tests.pg import postgres_settings

        on_postgres = PostgresDeliveryStore(pool.acquire(postgres_settings().postgres))
        yield on_postgres
        on_postgres.close()  # gives its share of the pool back


def rows(*sequences: int) -> list[NewDelivery]:
    return [NewDelivery(f"msg_{s}", s, f"sr-{s % 2}", "dispatched") for s in sequences]


def claim(owner: str = "w1", now: float = T0, in_flight: int = 4, limit: int = 10) -> Claim:
    return Claim(owner, now, now + 60, in_flight, limit)


def failure(now: float, *, dead: bool = False, counts: bool = True) -> Failure:
    return Failure(503, "HTTP 503", now + 5, dead, counts, failures_to_open=2, pause_s=30)


def test_enqueue_records_rows_and_moves_the_cursor_once(store: DeliveryStore) -> None:
    assert store.enqueue(SYSTEM, 0, 8, rows(4, 8), T0) == 2
    assert store.endpoint(SYSTEM).enqueued_through == 8
    assert store.enqueue(SYSTEM, 0, 8, rows(4, 8), T0) == 0  # another worker was first
    assert store.enqueue(SYSTEM, 8, 12, rows(8, 12), T0) == 1  # a message twice: one row
    assert [d.sequence for d in store.deliveries(system_id=SYSTEM)] == [4, 8, 12]
    assert store.counts() == {PENDING: 3}


def test_claims_lease_in_sequence_order_within_the_in_flight_bound(store: DeliveryStore) -> None:
    store.enqueue(SYSTEM, 0, 20, rows(4, 8, 12, 16, 20), T0)
    first = store.claim(SYSTEM, claim("w1", in_flight=3))
    assert [d.sequence for d in first] == [4, 8, 12]
    assert store.claim(SYSTEM, claim("w2", in_flight=3)) == []  # three already in flight
    assert store.delivered(first[0].delivery_id, T0 + 1, 200)
    second = store.claim(SYSTEM, claim("w2", now=T0 + 1, in_flight=3))
    assert [(d.sequence, d.lease_owner) for d in second] == [(16, "w2")]


def test_a_killed_workers_lease_expires_and_the_delivery_is_claimed_again(
    store: DeliveryStore,
) -> None:
    store.enqueue(SYSTEM, 0, 4, rows(4), T0)
    (taken,) = store.claim(SYSTEM, claim("dead-worker"))
    assert store.claim(SYSTEM, claim("w2", now=T0 + 59)) == []
    (again,) = store.claim(SYSTEM, claim("w2", now=T0 + 61))
    assert again.delivery_id == taken.delivery_id
    assert not store.failed(taken.delivery_id, "dead-worker", T0 + 62, failure(T0 + 62))
    assert store.failed(again.delivery_id, "w2", T0 + 62, failure(T0 + 62))


def test_failures_back_off_then_dead_letter_and_replay(store: DeliveryStore) -> None:
    store.enqueue(SYSTEM, 0, 4, rows(4), T0)
    (taken,) = store.claim(SYSTEM, claim())
    assert store.failed(taken.delivery_id, "w1", T0, failure(T0, counts=False))
    assert store.claim(SYSTEM, claim(now=T0 + 4)) == []  # not due before its backoff
    (again,) = store.claim(SYSTEM, claim(now=T0 + 5))
    assert store.failed(again.delivery_id, "w1", T0 + 5, failure(T0 + 5, dead=True, counts=False))
    dead = store.get(taken.delivery_id)
    assert dead is not None
    assert (dead.state, dead.attempts, dead.last_status, dead.last_error) == (
        DEAD,
        2,
        503,
        "HTTP 503",
    )
    assert dead.first_attempt_at == T0
    assert dead.last_attempt_at == T0 + 5
    assert store.dead_by_system() == {SYSTEM: 1}
    assert store.replay(taken.delivery_id, T0 + 10)
    assert not store.replay(taken.delivery_id, T0 + 10)  # no longer dead
    revived = store.get(taken.delivery_id)
    assert revived is not None
    assert (revived.state, revived.attempts) == (PENDING, 0)


def test_replay_of_a_system_revives_all_its_dead_letters(store: DeliveryStore) -> None:
    store.enqueue(SYSTEM, 0, 8, rows(4, 8), T0)
    for taken in store.claim(SYSTEM, claim()):
        store.failed(taken.delivery_id, "w1", T0, failure(T0, dead=True, counts=False))
    assert len(store.deliveries(state=DEAD)) == 2
    assert store.replay_dead(SYSTEM, T0 + 1) == 2
    assert store.deliveries(state=DEAD) == []
    assert store.dead_by_system() == {}


def test_the_circuit_opens_pauses_probes_one_and_closes(store: DeliveryStore) -> None:
    store.enqueue(SYSTEM, 0, 16, rows(4, 8, 12, 16), T0)
    a, b, *_ = store.claim(SYSTEM, claim())
    store.failed(a.delivery_id, "w1", T0, failure(T0))
    assert store.endpoint(SYSTEM).circuit == CLOSED
    store.failed(b.delivery_id, "w1", T0, failure(T0))
    assert (store.endpoint(SYSTEM).circuit, store.endpoint(SYSTEM).failures) == (OPEN, 2)
    for straggler in store.deliveries(system_id=SYSTEM)[2:]:
        store.failed(straggler.delivery_id, "w1", T0, failure(T0))
    assert store.claim(SYSTEM, claim(now=T0 + 29)) == []  # paused
    (probe,) = store.claim(SYSTEM, claim(now=T0 + 31))  # one, though four may be in flight
    assert store.endpoint(SYSTEM).circuit == PROBING
    assert store.claim(SYSTEM, claim("w2", now=T0 + 31)) == []
    store.failed(probe.delivery_id, "w1", T0 + 32, failure(T0 + 32))
    assert store.endpoint(SYSTEM).circuit == OPEN  # a failed probe: paused again
    (probe,) = store.claim(SYSTEM, claim(now=T0 + 63))
    assert store.delivered(probe.delivery_id, T0 + 64, 204)
    assert (store.endpoint(SYSTEM).circuit, store.endpoint(SYSTEM).failures) == (CLOSED, 0)
    assert len(store.claim(SYSTEM, claim(now=T0 + 64))) == 3


def test_a_delivered_row_keeps_what_the_status_view_shows(store: DeliveryStore) -> None:
    store.enqueue(SYSTEM, 0, 4, rows(4), T0)
    (taken,) = store.claim(SYSTEM, claim())
    assert store.delivered(taken.delivery_id, T0 + 2, 202)
    assert not store.delivered(taken.delivery_id, T0 + 3, 200)  # once
    (row,) = store.deliveries(service_request_id="sr-0")
    assert row.delivery_id == delivery_id(SYSTEM, "msg_4")
    assert (row.state, row.attempts, row.delivered_at, row.last_status) == (
        DELIVERED,
        1,
        T0 + 2,
        202,
    )
    assert row.lease_owner is None
    assert store.counts() == {DELIVERED: 1}


def test_concurrent_claims_never_lease_a_delivery_twice(store: DeliveryStore) -> None:
    store.enqueue(SYSTEM, 0, 400, rows(*range(4, 404, 4)), T0)
    taken: list[UUID] = []
    lock = threading.Lock()

    def worker() -> None:
        owner = uuid4().hex
        while True:
            got = store.claim(SYSTEM, claim(owner, in_flight=100, limit=3))
            if not got:
                return
            with lock:
                taken.extend(d.delivery_id for d in got)
            for d in got:
                store.delivered(d.delivery_id, T0, 200)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == len(set(taken)) == 100
    assert store.counts() == {DELIVERED: 100}
