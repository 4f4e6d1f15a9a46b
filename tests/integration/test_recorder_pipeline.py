"""The PostgreSQL recorder's one-sync insert: conflicts still conflict and leave nothing behind;
rows sent as binary arrays are stored exactly."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent

from adapters.bootstrap import Container, build
from tests.pg import postgres_settings

pytestmark = pytest.mark.postgres


class Counter(Aggregate):
    """A stand-in aggregate: the recorder does not care what it stores."""

    def bump(self) -> None:
        self.trigger_event(Aggregate.Event)


@pytest.fixture
def container() -> Iterator[Container]:
    built = build(postgres_settings("recorder_pipeline"))
    yield built
    built.close()


def test_a_concurrent_write_conflicts_and_is_not_lost(container: Container) -> None:
    ledger = container.ledger
    counter = Counter()
    ledger.save(counter)
    first: Counter = ledger.repository.get(counter.id)
    second: Counter = ledger.repository.get(counter.id)
    first.bump()
    second.bump()
    head = ledger.recorder.max_notification_id()
    ledger.save(first)
    with pytest.raises(IntegrityError):
        ledger.save(second)  # same version: the second writer must conflict
    assert ledger.recorder.max_notification_id() == (head or 0) + 1
    assert len(ledger.recorder.select_events(counter.id)) == 2


def test_the_connections_are_usable_after_conflicts(container: Container) -> None:
    ledger = container.ledger
    counter = Counter()
    ledger.save(counter)
    counter.bump()
    ledger.save(counter)  # version 2 is taken
    for _ in range(4):  # more conflicts than the pool keeps connections
        stale: Counter = ledger.repository.get(counter.id, version=1)
        stale.bump()
        with pytest.raises(IntegrityError):
            ledger.save(stale)
    counter.bump()
    recorded = ledger.save(counter)
    assert recorded[-1].notification.id == ledger.recorder.max_notification_id()
    assert [e.originator_version for e in ledger.recorder.select_events(counter.id)] == [1, 2, 3]


def test_rows_go_in_as_binary_arrays_and_come_back_byte_for_byte(container: Container) -> None:
    recorder = container.ledger.recorder
    first, second = uuid4(), uuid4()
    stored = [
        StoredEvent(first, 1, "topic:Ä ü 出生", bytes(range(256)) * 40),  # every byte value
        StoredEvent(first, 2**40, "topic:big version", b"\\x00\x00'\"{}"),
        StoredEvent(second, 1, "t", b""),
    ]
    ids = recorder.insert_events(stored)
    assert ids is not None
    assert list(ids) == list(range(ids[0], ids[0] + 3))
    assert list(recorder.select_events(first)) == stored[:2]
    assert list(recorder.select_events(second)) == stored[2:]
    notes = recorder.select_notifications(start=ids[0], limit=3)
    assert [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notes] == [
        (i, s.originator_id, s.originator_version, s.topic, s.state)
        for i, s in zip(ids, stored, strict=True)
    ]
