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
    CANCELLED,
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

        datastore = pool.acquire(postgres_settings().postgres)
        on_postgres = PostgresDeliveryStore(datastore, db_clock=False)  # the tests' times
        yield on_postgres
        on_postgres.close()  # gives its share of the pool back


def rows(*sequences: int) -> list[NewDelivery]:
    return [NewDelivery(f"msg_{s}", s, f"sr-{s % 2}", "dispatched") for s in sequences]


def claim(owner: str = "w1", now: float = T0, in_flight: int = 4, limit: int = 10) -> Claim:
    return Claim(owner, now, now + 60, in_flight, limit)


def failure(now: float, *, dead: bool = False, counts: bool = True) -> Failure:
    return Failure(503, "HTTP 503", now + 5, dead, counts, 2, pause_s=30, max_pause_s=600)


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
    assert store.endpoint(SYSTEM).circuit == OPEN  # a failed probe: paused again, longer
    assert store.endpoint(SYSTEM).circuit_until == T0 + 32 + 32  # as long as it was open
    (probe,) = store.claim(SYSTEM, claim(now=T0 + 65))
    assert store.delivered(probe.delivery_id, T0 + 64, 204)
    assert (store.endpoint(SYSTEM).circuit, store.endpoint(SYSTEM).failures) == (CLOSED, 0)
    assert len(store.claim(SYSTEM, claim(now=T0 + 66))) == 3


def test_attempts_are_spent_only_while_the_circuit_is_closed(store: DeliveryStore) -> None:
    store.enqueue(SYSTEM, 0, 16, rows(4, 8, 12, 16), T0)
    a, b, c, d = store.claim(SYSTEM, claim())
    store.failed(a.delivery_id, "w1", T0, failure(T0))
    opened = store.failed(b.delivery_id, "w1", T0, failure(T0))  # the 2nd: it opens
    assert opened is not None
    assert opened.attempts == 1
    late = store.failed(c.delivery_id, "w1", T0 + 1, failure(T0 + 1, dead=True))
    assert late is not None  # under way when the circuit opened: costs nothing
    assert (late.state, late.attempts, late.last_status) == (PENDING, 0, 503)
    gone = store.failed(d.delivery_id, "w1", T0 + 1, failure(T0 + 1, dead=True, counts=False))
    assert gone is not None
    assert (gone.state, gone.attempts) == (DEAD, 1)
    now = T0 + 31
    for _ in range(20):  # probe after probe fails, each 'the last attempt'
        (probe,) = store.claim(SYSTEM, claim(now=now))
        failed = store.failed(probe.delivery_id, "w1", now, failure(now, dead=True))
        assert failed is not None
        assert failed.state == PENDING
        now = store.endpoint(SYSTEM).circuit_until + 1
    assert {r.delivery_id: r.attempts for r in store.deliveries(state=PENDING)} == {
        a.delivery_id: 1,
        b.delivery_id: 1,
        c.delivery_id: 0,
    }


def test_the_circuit_pause_doubles_up_to_its_cap(store: DeliveryStore) -> None:
    store.enqueue(SYSTEM, 0, 8, rows(4, 8), T0)
    for taken in store.claim(SYSTEM, claim()):
        store.failed(taken.delivery_id, "w1", T0, failure(T0))
    pauses, now = [], T0
    for _ in range(8):
        until = store.endpoint(SYSTEM).circuit_until
        pauses.append(until - now)
        now = until + 1
        (probe,) = store.claim(SYSTEM, claim(now=now))
        store.failed(probe.delivery_id, "w1", now, failure(now))
    assert pauses == [30, 31, 63, 127, 255, 511, 600, 600]  # as long as it was open, capped


def test_a_lease_given_back_spends_nothing(store: DeliveryStore) -> None:
    store.enqueue(SYSTEM, 0, 4, rows(4), T0)
    (taken,) = store.claim(SYSTEM, claim())
    assert not store.release(taken.delivery_id, "someone-else", T0, T0 + 10)
    assert store.release(taken.delivery_id, "w1", T0, T0 + 10)
    row = store.get(taken.delivery_id)
    assert row is not None
    assert (row.state, row.attempts, row.lease_owner, row.next_attempt_at) == (
        PENDING,
        0,
        None,
        T0 + 10,
    )
    assert store.claim(SYSTEM, claim(now=T0 + 9)) == []
    assert len(store.claim(SYSTEM, claim(now=T0 + 10))) == 1
    assert store.endpoint(SYSTEM).failures == 0


def test_a_late_success_is_recorded_over_a_dead_letter(store: DeliveryStore) -> None:
    store.enqueue(SYSTEM, 0, 4, rows(4), T0)
    (slow,) = store.claim(SYSTEM, claim("w1"))
    (again,) = store.claim(SYSTEM, claim("w2", now=T0 + 61))  # w1's lease ended
    store.failed(again.delivery_id, "w2", T0 + 62, failure(T0 + 62, dead=True, counts=False))
    assert store.delivered(slow.delivery_id, T0 + 63, 200)  # the receiver got it
    row = store.get(slow.delivery_id)
    assert row is not None
    assert (row.state, row.last_status) == (DELIVERED, 200)
    assert store.dead_by_system() == {}


def test_a_systems_waiting_deliveries_are_discarded_and_old_ones_purged(
    store: DeliveryStore,
) -> None:
    other = UUID("00000000-0000-4000-8000-000000000002")
    store.enqueue(SYSTEM, 0, 12, rows(4, 8, 12), T0)
    store.enqueue(other, 0, 4, rows(4), T0)
    first, second, _third = store.claim(SYSTEM, claim())
    store.delivered(first.delivery_id, T0 + 1, 200)
    store.failed(second.delivery_id, "w1", T0 + 1, failure(T0 + 1, dead=True, counts=False))
    assert store.waiting() == {SYSTEM: {PENDING: 1, DEAD: 1}, other: {PENDING: 1}}
    assert store.discard(SYSTEM) == 2  # the dead letter, and the one being sent
    assert store.waiting() == {other: {PENDING: 1}}
    assert store.claim(SYSTEM, claim(now=T0 + 100)) == []
    assert store.counts() == {DELIVERED: 1, CANCELLED: 2, PENDING: 1}
    day = 86400.0
    assert store.purge(T0 + 30 * day, 30 * day, 100) == 0  # kept 30 days
    assert store.purge(T0 + 31 * day, 30 * day, 2) == 2  # at most `limit` at once
    assert store.purge(T0 + 31 * day, 30 * day, 100) == 1
    assert store.counts() == {PENDING: 1}


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


@pytest.mark.postgres
def test_on_postgres_leases_run_on_the_database_clock() -> None:
    """Workers whose clocks are an hour apart share leases as if they agreed: one behind does
    not make its own lease look ended to the others, one ahead does not hold it for an hour."""
    import time

    from tests.pg import postgres_settings

    store = PostgresDeliveryStore(pool.acquire(postgres_settings().postgres))
    system = uuid4()
    try:
        now = time.time()
        store.enqueue(system, 0, 4, rows(4), now)
        behind = Claim("behind", now - 3600, now - 3600 + 1.0, 1, 1)
        (taken,) = store.claim(system, behind)
        assert taken.lease_until is not None
        assert abs(taken.lease_until - (time.time() + 1.0)) < 0.5  # 1 s from the database's now
        right = Claim("right", time.time(), time.time() + 1, 4, 1)  # room for more in flight
        assert store.claim(system, right) == []  # but that one is being sent
        time.sleep(1.2)  # its lease ends by the database's clock
        ahead = Claim("ahead", time.time() + 3600, time.time() + 3600 + 1.0, 4, 1)
        (again,) = store.claim(system, ahead)
        assert again.delivery_id == taken.delivery_id
        assert store.failed(again.delivery_id, "ahead", ahead.now, failure(ahead.now)) is not None
        row = store.get(again.delivery_id)
        assert row is not None
        assert row.last_attempt_at is not None
        assert abs(row.last_attempt_at - time.time()) < 0.5
        assert abs(row.next_attempt_at - (time.time() + 5)) < 0.5  # the backoff, kept
    finally:
        store.close()
