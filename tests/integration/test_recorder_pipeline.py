"""The PostgreSQL recorder's one-sync insert: conflicts still conflict and leave nothing behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

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
